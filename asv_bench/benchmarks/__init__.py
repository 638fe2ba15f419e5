"""airspeed velocity benchmarks of skneuro."""
