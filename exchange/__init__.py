"""Model exchange with other toolchains: QONNX import and export (optional extra `qonnx`, imported lazily).

golden/ never imports this package; it reads and writes golden models through golden/ only.
"""
