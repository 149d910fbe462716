"""Host-side latency and memory estimates for Cortex-M targets."""
