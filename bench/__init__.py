"""Benchmarks: the broker beside the bare AMQP floor, measured in one run on one machine.

`make bench` (or `python -m bench`) runs `bench.harness`; `python -m bench.series` runs the
scaling series; `python -m bench.profile` profiles the broker under load. See BENCHMARKS.md.
"""
