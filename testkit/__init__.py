"""What the tests and the benchmarks share: documents generated on the spot, a fake TGI server, and the small
real model for llama.cpp's server."""
