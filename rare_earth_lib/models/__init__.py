"""Calculations: concentration, capacity, demand, build-out, economics, exposure, timeline, scorecard. No charts, no I/O beyond the data layer."""
