"""buffer_bank: one bank of an operand buffer (rtl/top.py): a RAM of `depth` rows of `width` bits, zero at power-on,
with one synchronous write port and one synchronous read port (read-before-write: a read of the row written at the
same edge returns the old row).

Two implementations of the same behaviour:
  macro=False  an amaranth.lib.memory.Memory (what amaranth.sim runs: verify/amaranth_sim.py, tests);
  macro=True   an instance of the Verilog module RAM_MODULE (RAM_VERILOG, appended to dqt_top.v by rtl/emit.py),
               what gen-rtl emits. Amaranth writes a Memory's power-on contents into the Verilog bit by bit (one
               `mem[i] = 0` line per row, built one bit at a time in Python and again in Yosys), which for the
               fused 16×16 buffers (4 × 4,608 rows of 512 bits) was half of the generation time; the macro's loop
               zeroes its rows in a few lines. It is also how a synthesis flow takes an SRAM (rtl-stats keeps it a
               black box and counts its bits).
"""
from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal, unsigned
from amaranth.lib.memory import Memory
from amaranth.utils import ceil_log2

RAM_MODULE = "dqt_ram"
RAM_VERILOG = f"""
// {RAM_MODULE}: one operand-buffer bank (rtl/buffer.py): DEPTH rows of WIDTH bits, zero at power-on,
// synchronous write, synchronous read-before-write read.
module {RAM_MODULE} #(parameter WIDTH = 1, parameter DEPTH = 1, parameter ABITS = 1) (
  input clk,
  input we,
  input [ABITS-1:0] waddr,
  input [WIDTH-1:0] wdata,
  input [ABITS-1:0] raddr,
  output reg [WIDTH-1:0] rdata
);
  reg [WIDTH-1:0] mem [0:DEPTH-1];
  integer row;
  initial for (row = 0; row < DEPTH; row = row + 1) mem[row] = {{WIDTH{{1'b0}}}};
  always @(posedge clk) begin
    if (we) mem[waddr] <= wdata;
    rdata <= mem[raddr];
  end
endmodule
"""


def ram_address(addr, depth: int):
    """The row address a Memory of `depth` rows uses: the low ceil_log2(depth) bits of `addr` (row 0 when depth is 1,
    a 1-bit constant 0 on the macro's port)."""
    used = ceil_log2(depth)
    return addr[:used] if used else Const(0, 1)


def buffer_bank(m: Module, name: str, width: int, depth: int, we, waddr, wdata, raddr, macro: bool):
    """Add submodule `name` to `m`: a bank of `depth` rows of `width` bits written with (we, waddr, wdata) and read
    at raddr; returns its read data (the row at raddr one edge later). macro: the RAM_MODULE instance, else an
    amaranth Memory."""
    if macro:
        rdata = Signal(unsigned(width), name=f"{name}_rdata")
        m.submodules[name] = Instance(RAM_MODULE, p_WIDTH=width, p_DEPTH=depth, p_ABITS=max(1, ceil_log2(depth)),
                                      i_clk=ClockSignal(), i_we=we, i_waddr=ram_address(waddr, depth), i_wdata=wdata,
                                      i_raddr=ram_address(raddr, depth), o_rdata=rdata)
        return rdata
    mem = m.submodules[name] = Memory(shape=unsigned(width), depth=depth, init=[])
    write, read = mem.write_port(), mem.read_port()
    m.d.comb += [write.en.eq(we), write.addr.eq(waddr), write.data.eq(wdata), read.addr.eq(raddr)]
    return read.data
