"""DQT-HW cycle-level accelerator simulator (reads golden/'s IR and NestedSpec, never the reverse)."""
