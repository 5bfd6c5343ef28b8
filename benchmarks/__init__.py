"""Side-by-side benchmarks against the peers; each script writes its section of docs/benchmarks.md."""
