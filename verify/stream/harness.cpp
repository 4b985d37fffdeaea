// Streaming testbench of DqtTop (verify/stream): whole conv layers back to back, no Python in the cycle loop.
//
// Built by verify/stream/build.py with Verilator (--exe) around the generated top (rtl.emit.write_rtl, the design
// the cocotb benches drive), fixed or fused PEs. Compile-time constants from the design's manifest: DQT_R, DQT_C
// (array), DQT_CODE_BITS (N, one operand lane), DQT_WIDE_BITS (ACC, one residual lane), DQT_OUT_BITS (one out_data
// lane), DQT_LANES (L, the most operands a PE takes per port: 1 for fixed PEs, N / smallest fusion width for fused
// ones), DQT_FUSED (1: the top has the out_alane port).
//
// Protocol (rtl/top.py module docstring, the one description; verify/tb/top.py and verify/layer_flow.py drive the
// same sequence from cocotb, and this file mirrors them): at widths (b_w, b_a) a tile covers R' = R*lanes_w logical
// filters x C' = C*lanes_a logical pixels (lanes_w, lanes_a from the job file: verify.tile_job.tile_lanes; 1, 1 for
// fixed PEs), tiles in row-major order (verify.gemm.tiles(M, N, R', C')); tile 0 is loaded (L = max(K, R') cycles,
// sim.tile.os_load_cycles: weight row k, activation row k, parameter row f and residual row f in write cycle t = k
// or f), then per tile one config+start cycle, the next tile's load into the free bank, and cycles until `done`.
// Lane packing (verify.tile_job.load_words / pack_lanes, lane 0 least significant): w_data lane f (N bits) = W[f, k]
// for filter f = p*R + i (weight lane p of array row i), a_data lane g = A[k, g] for pixel g = q*C + j, r_data lane g
// (ACC bits) of row f = r[f, g]; lanes past R' / C' are 0. Drain (verify.tile_job.drain_order): one row per cycle,
// the last in the cycle before `done`, in the order q = 0.., p = 0.., i = R-1..0; out_row = f, out_alane = q and
// out_data lane j = y[f, q*C + j]. Inputs are set before a rising edge and outputs read after it (the falling-edge
// convention of verify/tb/clocking.py).
//
// stdin: one line per layer, "<job file> <result file>"; after writing the result the harness answers
// "ok <result file>" (or "error <message>") on stdout. The DUT is reset once at start-up, never between layers.
//
// Job file (little endian; verify/stream/job.py writes it):
//   char[4] "DQTJ", then int64 R, C, M, K, N, b_w, b_a, a_signed, mode code, s, res_en, lanes_w, lanes_a,
//   int32 W[M][K], int32 A[K][N], int64 bias[M], int64 m[M], int64 m_r[M], int64 resid[M][N] (only if res_en).
// Result file:
//   char[4] "DQTR", int64 tiles, layer cycles (first load edge to last done), protocol errors (output rows outside
//   a tile, out of drain order or not in the cycles just before done, missing rows),
//   int32 counted[tiles] (edges from start to done), int32 reported[tiles] (the `cycles` port after done),
//   int64 out[M][N].
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "Vdqt_top.h"
#include "verilated.h"

namespace {

constexpr int R = DQT_R;
constexpr int C = DQT_C;
constexpr int CODE_BITS = DQT_CODE_BITS;
constexpr int WIDE_BITS = DQT_WIDE_BITS;
constexpr int OUT_BITS = DQT_OUT_BITS;
constexpr int LANES = DQT_LANES;

uint64_t mask_of(int width) { return width >= 64 ? ~0ULL : ((1ULL << width) - 1); }

// Bit fields of a port: a Verilator VlWide (array of 32-bit words) or a scalar (CData .. QData).
void put_words(EData* words, int pos, int width, uint64_t value) {
    value &= mask_of(width);
    while (width > 0) {
        const int word = pos / 32, off = pos % 32, take = std::min(width, 32 - off);
        const uint32_t m = static_cast<uint32_t>(mask_of(take)) << off;
        words[word] = (words[word] & ~m) | ((static_cast<uint32_t>(value) << off) & m);
        value >>= take;
        pos += take;
        width -= take;
    }
}

uint64_t get_words(const EData* words, int pos, int width) {
    uint64_t value = 0;
    int got = 0;
    while (got < width) {
        const int word = pos / 32, off = pos % 32, take = std::min(width - got, 32 - off);
        value |= (static_cast<uint64_t>(words[word] >> off) & mask_of(take)) << got;
        pos += take;
        got += take;
    }
    return value;
}

template <std::size_t W> void put(VlWide<W>& port, int pos, int width, uint64_t v) { put_words(port.data(), pos, width, v); }
template <std::size_t W> uint64_t get(const VlWide<W>& port, int pos, int width) { return get_words(port.data(), pos, width); }
template <typename T, typename = std::enable_if_t<std::is_integral<T>::value>>
void put(T& port, int pos, int width, uint64_t v) {
    const uint64_t m = mask_of(width) << pos;
    port = static_cast<T>((static_cast<uint64_t>(port) & ~m) | ((v << pos) & m));
}
template <typename T, typename = std::enable_if_t<std::is_integral<T>::value>>
uint64_t get(const T& port, int pos, int width) { return (static_cast<uint64_t>(port) >> pos) & mask_of(width); }

int64_t sign_extend(uint64_t v, int bits) {
    return bits >= 64 ? static_cast<int64_t>(v) : static_cast<int64_t>(v << (64 - bits)) >> (64 - bits);
}

struct Job {
    int64_t m = 0, k = 0, n = 0, b_w = 0, b_a = 0, a_signed = 0, mode = 0, s = 0, res_en = 0, lanes_w = 1, lanes_a = 1;
    std::vector<int32_t> w, a;
    std::vector<int64_t> bias, mul, mul_r, resid;
};

struct Result {
    std::vector<int32_t> counted, reported;
    std::vector<int64_t> out;
    int64_t layer_cycles = 0, errors = 0;
};

template <typename T> void read_into(std::ifstream& f, std::vector<T>& v, size_t count, const std::string& what) {
    v.resize(count);
    f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(T)));
    if (!f) throw std::runtime_error("job file truncated in " + what);
}

Job read_job(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open job file " + path);
    char magic[4];
    f.read(magic, 4);
    if (!f || std::memcmp(magic, "DQTJ", 4) != 0) throw std::runtime_error("not a job file: " + path);
    int64_t head[13];
    f.read(reinterpret_cast<char*>(head), sizeof head);
    if (!f) throw std::runtime_error("job file header truncated: " + path);
    if (head[0] != R || head[1] != C)
        throw std::runtime_error("job is for a " + std::to_string(head[0]) + "x" + std::to_string(head[1]) +
                                 " array, this harness drives " + std::to_string(R) + "x" + std::to_string(C));
    Job j;
    j.m = head[2]; j.k = head[3]; j.n = head[4]; j.b_w = head[5]; j.b_a = head[6]; j.a_signed = head[7];
    j.mode = head[8]; j.s = head[9]; j.res_en = head[10]; j.lanes_w = head[11]; j.lanes_a = head[12];
    for (const int64_t lanes : {j.lanes_w, j.lanes_a})
        if (lanes < 1 || lanes > LANES || LANES % lanes != 0)
            throw std::runtime_error("job has " + std::to_string(lanes) + " lanes per port, this harness's PEs take " +
                                     "a divisor of " + std::to_string(LANES));
    read_into(f, j.w, j.m * j.k, "W");
    read_into(f, j.a, j.k * j.n, "A");
    read_into(f, j.bias, j.m, "bias");
    read_into(f, j.mul, j.m, "m");
    read_into(f, j.mul_r, j.m, "m_r");
    if (j.res_en) read_into(f, j.resid, j.m * j.n, "residual");
    return j;
}

class Bench {
  public:
    explicit Bench(VerilatedContext* ctx) : top_(new Vdqt_top{ctx}) {
        top_->clk = 0;
        top_->rst = 1;
        top_->eval();
        tick();
        tick();
        top_->rst = 0;
    }
    ~Bench() { top_->final(); }

    Result run_layer(const Job& j) {
        Result res;
        res.out.assign(j.m * j.n, 0);
        const int64_t filters = R * j.lanes_w, pixels = C * j.lanes_a;  // the logical tile R' x C'
        const int64_t load_cycles = std::max<int64_t>(j.k, filters);    // sim.tile.os_load_cycles(R', K)
        std::vector<std::pair<int64_t, int64_t>> tiles;                 // verify.gemm.tiles(M, N, R', C')
        for (int64_t m0 = 0; m0 < j.m; m0 += filters)
            for (int64_t n0 = 0; n0 < j.n; n0 += pixels) tiles.emplace_back(m0, n0);
        // sim.tile.os_tile_cycles(R, C, K, lanes_w * lanes_a), for the timeout only (Python checks the counts)
        const int64_t want = (R + C + j.k - 2) + filters * j.lanes_a + 1;
        drain_rows_ = filters * j.lanes_a;
        const uint64_t first = edges_;
        load(j, tiles[0].first, tiles[0].second, load_cycles, res);
        for (size_t i = 0; i < tiles.size(); ++i) {
            start(j);
            const uint64_t started = edges_;
            tile_m0_ = tiles[i].first;
            tile_n0_ = tiles[i].second;
            drained_ = 0;
            first_row_at_ = 0;
            done_at_ = 0;
            active_ = true;
            if (i + 1 < tiles.size()) load(j, tiles[i + 1].first, tiles[i + 1].second, load_cycles, res);
            while (!done_at_) {
                if (edges_ - started > static_cast<uint64_t>(4 * want + 64))
                    throw std::runtime_error("tile " + std::to_string(i) + " did not finish within " +
                                             std::to_string(4 * want + 64) + " cycles");
                tick_and_sample(j, res);
            }
            active_ = false;
            // every row came out, the last one in the cycle before done
            if (drained_ != drain_rows_ || done_at_ != first_row_at_ + static_cast<uint64_t>(drain_rows_)) ++res.errors;
            res.counted.push_back(static_cast<int32_t>(done_at_ - started));
            res.reported.push_back(static_cast<int32_t>(top_->cycles));
        }
        res.layer_cycles = static_cast<int64_t>(edges_ - first);
        return res;
    }

  private:
    void tick() {
        top_->clk = 1;
        top_->eval();
        top_->clk = 0;
        top_->eval();
        ++edges_;
    }

    // Drain row d of a tile (verify.tile_job.drain_order): activation lane q = d / R', then weight lane p and array
    // row i = R-1 .. 0; the row holds logical filter f = p*R + i.
    static std::pair<int64_t, int64_t> drain_row(int64_t d, int64_t filters) {
        const int64_t q = d / filters, rest = d % filters;
        return {(rest / R) * R + (R - 1 - rest % R), q};
    }

    void tick_and_sample(const Job& j, Result& res) {
        tick();
        if (top_->out_valid) {
            const int64_t row = static_cast<int64_t>(top_->out_row);
#if DQT_FUSED
            const int64_t q = static_cast<int64_t>(top_->out_alane);
#else
            const int64_t q = 0;
#endif
            const int64_t filters = R * j.lanes_w;
            if (!active_ || done_at_ || drained_ >= drain_rows_ || drain_row(drained_, filters) != std::make_pair(row, q) ||
                (drained_ > 0 && edges_ != first_row_at_ + static_cast<uint64_t>(drained_))) {
                ++res.errors;  // a row outside a tile, after done, out of drain order or not in consecutive cycles
            } else {
                if (drained_ == 0) first_row_at_ = edges_;
                const int64_t m = tile_m0_ + row;
                for (int jj = 0; jj < C; ++jj) {
                    const int64_t n = tile_n0_ + q * C + jj;
                    if (m < j.m && n < j.n)
                        res.out[m * j.n + n] = sign_extend(get(top_->out_data, jj * OUT_BITS, OUT_BITS), OUT_BITS);
                }
            }
            ++drained_;
        }
        if (active_ && !done_at_ && top_->done) done_at_ = edges_;
    }

    // Write tile (m0, n0)'s operands into the load bank: L cycles, all four ports in parallel (while the tile
    // before runs: the rows it emits meanwhile are collected too). Lanes past the tile's R' filters / C' pixels
    // are written 0 (verify.tile_job.load_words packs only those).
    void load(const Job& j, int64_t m0, int64_t n0, int64_t cycles, Result& res) {
        const int64_t filters = R * j.lanes_w, pixels = C * j.lanes_a;
        for (int64_t t = 0; t < cycles; ++t) {
            const bool kw = t < j.k, pw = t < filters, rw = j.res_en && t < filters;
            top_->w_we = kw;
            top_->a_we = kw;
            if (kw) {
                top_->w_addr = t;
                top_->a_addr = t;
                for (int64_t f = 0; f < R * LANES; ++f) {
                    const int64_t m = m0 + f;
                    put(top_->w_data, f * CODE_BITS, CODE_BITS,
                        f < filters && m < j.m ? static_cast<uint64_t>(j.w[m * j.k + t]) : 0);
                }
                for (int64_t g = 0; g < C * LANES; ++g) {
                    const int64_t n = n0 + g;
                    put(top_->a_data, g * CODE_BITS, CODE_BITS,
                        g < pixels && n < j.n ? static_cast<uint64_t>(j.a[t * j.n + n]) : 0);
                }
            }
            top_->p_we = pw;
            if (pw) {
                const int64_t m = m0 + t;
                top_->p_row = t;
                put(top_->p_bias, 0, WIDE_BITS, m < j.m ? static_cast<uint64_t>(j.bias[m]) : 0);
                top_->p_m = m < j.m ? j.mul[m] : 0;
                top_->p_m_r = m < j.m ? j.mul_r[m] : 0;
            }
            top_->r_we = rw;
            if (rw) {
                const int64_t m = m0 + t;
                top_->r_row = t;
                for (int64_t g = 0; g < C * LANES; ++g) {
                    const int64_t n = n0 + g;
                    put(top_->r_data, g * WIDE_BITS, WIDE_BITS,
                        g < pixels && m < j.m && n < j.n ? static_cast<uint64_t>(j.resid[m * j.n + n]) : 0);
                }
            }
            tick_and_sample(j, res);
        }
        top_->w_we = top_->a_we = top_->p_we = top_->r_we = 0;
    }

    void start(const Job& j) {
        top_->cfg_we = 1;
        top_->start = 1;
        top_->cfg_b_w = j.b_w;
        top_->cfg_b_a = j.b_a;
        top_->cfg_a_signed = j.a_signed;
        top_->cfg_res_en = j.res_en;
        top_->cfg_mode = j.mode;
        top_->cfg_s = j.s;
        top_->cfg_k = j.k;
        tick();  // the rising edge that samples start: cycle 0 begins
        top_->cfg_we = 0;
        top_->start = 0;
    }

    std::unique_ptr<Vdqt_top> top_;
    uint64_t edges_ = 0;
    int64_t tile_m0_ = 0, tile_n0_ = 0;
    int64_t drain_rows_ = 0, drained_ = 0;  // rows a tile drains (R' * lanes_a), rows seen so far
    uint64_t first_row_at_ = 0, done_at_ = 0;
    bool active_ = false;
};

template <typename T> void write_all(std::ofstream& f, const std::vector<T>& v) {
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}

void write_result(const std::string& path, const Result& r) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error("cannot write " + tmp);
        f.write("DQTR", 4);
        const int64_t head[3] = {static_cast<int64_t>(r.counted.size()), r.layer_cycles, r.errors};
        f.write(reinterpret_cast<const char*>(head), sizeof head);
        write_all(f, r.counted);
        write_all(f, r.reported);
        write_all(f, r.out);
        if (!f) throw std::runtime_error("short write to " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

}  // namespace

int main(int argc, char** argv) {
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);
    Bench bench(ctx.get());
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream words(line);
        std::string job_path, result_path;
        if (!(words >> job_path >> result_path)) {
            std::cout << "error expected '<job file> <result file>', got '" << line << "'" << std::endl;
            continue;
        }
        try {
            const Job job = read_job(job_path);
            const Result result = bench.run_layer(job);
            write_result(result_path, result);
            std::cout << "ok " << result_path << std::endl;
        } catch (const std::exception& e) {
            std::cout << "error " << e.what() << std::endl;
        }
    }
    return 0;
}
