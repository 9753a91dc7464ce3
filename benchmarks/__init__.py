"""simlab's benchmarks. Run ``python -m benchmarks [NAME ...]`` (or ``make bench``).

Each benchmark measures a baseline in the same run and prints simlab's rate beside it as a
ratio, so the numbers mean the same thing on any machine.
"""
