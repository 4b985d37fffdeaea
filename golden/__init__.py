"""DQT-HW golden model: the bit-exact nested-integer contract of docs/spec.md §1.

golden/ imports nothing from sim/, rtl/, verify/ or train/; every other folder reads it.
"""
