"""`make bench`: twostep's performance figures and their budgets (issue 9, load check: issue 10).

One module per group of figures (cold_start, calls, load, sizes); run.py prints them as one
table, writes test-artifacts/bench.json and exits non-zero when a budget is exceeded.
"""
