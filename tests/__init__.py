"""The test suite (pytest); helpers shared by its folders live in tests/support."""
