"""What the tests and the benchmarks share: documents generated on the spot, and a fake TGI server."""
