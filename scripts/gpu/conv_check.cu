// conv_check: run one float NCHW convolution through cuDNN on the GPU and compare it with a
// CPU reference. Part of scripts/gpu-validate (issue 6): it is compiled against the headers and
// libraries of the cuDNN RPMs that specgen's spec built, so a PASS shows those packages work.
//
// Problem: x N=2,C=8,H=W=32; w K=16,C=8,3x3; pad 1, stride 1, dilation 1 (cross-correlation,
// as every deep-learning framework means it); y N=2,K=16,32x32. Data are fixed pseudo-random
// values in [-1, 1], so every run computes the same numbers.
//
// Checks, through the legacy convolution API (cudnn_cnn.h):
//   1. "heuristic": the algorithm cudnnGetConvolutionForwardAlgorithm_v7 picks, math restricted
//      to FP32 FMA (CUDNN_FMA_MATH), against tolerance 1e-3 absolute.
//   2. every forward algorithm cuDNN accepts for this problem, FMA math, same tolerance.
//   3. the heuristic's pick with CUDNN_DEFAULT_MATH (tensor cores may round inputs to TF32 on
//      Ampere and later), against tolerance 5e-2 absolute.
// Errors: max |gpu - cpu| and max |gpu - cpu| / max(|cpu|, 1) over all outputs; the CPU
// reference is computed in double. Exit status 0 when every check passes, 1 when one fails,
// 2 when a CUDA or cuDNN call fails.
//
// Build: nvcc -o conv_check conv_check.cu -I<prefix>/include -L<prefix>/lib -lcudnn

#include <cuda_runtime.h>
#include <cudnn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define CUDA_OK(call)                                                                        \
    do {                                                                                     \
        cudaError_t err_ = (call);                                                           \
        if (err_ != cudaSuccess) {                                                           \
            std::fprintf(stderr, "ERROR %s:%d: %s: %s\n", __FILE__, __LINE__, #call,         \
                         cudaGetErrorString(err_));                                          \
            std::exit(2);                                                                    \
        }                                                                                    \
    } while (0)

#define CUDNN_OK(call)                                                                       \
    do {                                                                                     \
        cudnnStatus_t st_ = (call);                                                          \
        if (st_ != CUDNN_STATUS_SUCCESS) {                                                   \
            char msg_[1024] = "";                                                            \
            cudnnGetLastErrorString(msg_, sizeof msg_);                                      \
            std::fprintf(stderr, "ERROR %s:%d: %s: %s %s\n", __FILE__, __LINE__, #call,      \
                         cudnnGetErrorString(st_), msg_);                                    \
            std::exit(2);                                                                    \
        }                                                                                    \
    } while (0)

namespace {

const int N = 2, C = 8, H = 32, W = 32, K = 16, R = 3, S = 3;
const int PAD = 1, STRIDE = 1, DILATION = 1;
const double TOL_FP32 = 1e-3;  // FP32 FMA: errors are ~1e-6 here; a wrong result is ~1
const double TOL_TF32 = 5e-2;  // TF32 inputs keep 10 mantissa bits: errors ~1e-3 here

const char* ALGO_NAMES[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                            "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};

const char* algo_name(int algo) {
    return (algo >= 0 && algo < 8) ? ALGO_NAMES[algo] : "UNKNOWN";
}

const char* math_name(cudnnMathType_t m) {
    switch (m) {
        case CUDNN_DEFAULT_MATH: return "DEFAULT_MATH";
        case CUDNN_TENSOR_OP_MATH: return "TENSOR_OP_MATH";
        case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "TENSOR_OP_MATH_ALLOW_CONVERSION";
        case CUDNN_FMA_MATH: return "FMA_MATH";
    }
    return "UNKNOWN";
}

// Fixed pseudo-random values in [-1, 1] (a 32-bit LCG; the same on every host).
void fill(std::vector<float>& v, unsigned seed) {
    unsigned s = seed;
    for (float& f : v) {
        s = s * 1664525u + 1013904223u;
        f = static_cast<float>((s >> 8) * (1.0 / 16777215.0) * 2.0 - 1.0);
    }
}

struct Errors {
    double max_abs = 0, max_rel = 0;
};

Errors compare(const std::vector<float>& gpu, const std::vector<double>& ref) {
    Errors e;
    for (size_t i = 0; i < ref.size(); ++i) {
        double d = std::fabs(static_cast<double>(gpu[i]) - ref[i]);
        if (!(d == d)) d = INFINITY;  // NaN counts as a failure
        e.max_abs = std::fmax(e.max_abs, d);
        e.max_rel = std::fmax(e.max_rel, d / std::fmax(std::fabs(ref[i]), 1.0));
    }
    return e;
}

// Which libcudnn, libcublas and libnvrtc files this process really mapped.
void print_loaded_libraries() {
    FILE* maps = std::fopen("/proc/self/maps", "r");
    if (!maps) return;
    std::vector<std::string> seen;
    char line[4096];
    while (std::fgets(line, sizeof line, maps)) {
        const char* path = std::strchr(line, '/');
        if (!path) continue;
        std::string p(path);
        while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
        const char* base = std::strrchr(p.c_str(), '/') + 1;
        bool wanted = std::strncmp(base, "libcudnn", 8) == 0 || std::strncmp(base, "libcublas", 9) == 0 ||
                      std::strncmp(base, "libnvrtc", 8) == 0 || std::strncmp(base, "libcuda.so", 10) == 0;
        if (!wanted) continue;
        bool dup = false;
        for (const auto& s : seen) dup = dup || s == p;
        if (!dup) seen.push_back(p);
    }
    std::fclose(maps);
    for (const auto& s : seen) std::printf("loaded: %s\n", s.c_str());
}

}  // namespace

int main() {
    // ---- versions and device
    size_t version = cudnnGetVersion();
    std::printf("cudnnGetVersion() = %zu (headers: CUDNN_VERSION = %d)\n", version, CUDNN_VERSION);
    std::printf("cudnnGetCudartVersion() = %zu\n", cudnnGetCudartVersion());
    int driver = 0, runtime = 0, devices = 0;
    CUDA_OK(cudaDriverGetVersion(&driver));
    CUDA_OK(cudaRuntimeGetVersion(&runtime));
    CUDA_OK(cudaGetDeviceCount(&devices));
    cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    std::printf("GPU 0 of %d: %s (compute capability %d.%d, %.1f GiB)\n", devices, prop.name,
                prop.major, prop.minor, prop.totalGlobalMem / 1073741824.0);
    std::printf("CUDA driver API %d, runtime %d\n", driver, runtime);
    bool ok = true;
    if (version != static_cast<size_t>(CUDNN_VERSION)) {
        std::printf("MISMATCH: library %zu, headers %d\n", version, CUDNN_VERSION);
        ok = false;
    }

    // ---- data and the CPU reference (double)
    const int OH = (H + 2 * PAD - DILATION * (R - 1) - 1) / STRIDE + 1;
    const int OW = (W + 2 * PAD - DILATION * (S - 1) - 1) / STRIDE + 1;
    std::vector<float> x(static_cast<size_t>(N) * C * H * W), w(static_cast<size_t>(K) * C * R * S);
    fill(x, 12345u);
    fill(w, 67890u);
    std::vector<double> ref(static_cast<size_t>(N) * K * OH * OW, 0.0);
    for (int n = 0; n < N; ++n)
        for (int k = 0; k < K; ++k)
            for (int oh = 0; oh < OH; ++oh)
                for (int ow = 0; ow < OW; ++ow) {
                    double acc = 0;
                    for (int c = 0; c < C; ++c)
                        for (int r = 0; r < R; ++r)
                            for (int s = 0; s < S; ++s) {
                                int ih = oh * STRIDE - PAD + r * DILATION;
                                int iw = ow * STRIDE - PAD + s * DILATION;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += static_cast<double>(x[((n * C + c) * H + ih) * W + iw]) *
                                       w[((k * C + c) * R + r) * S + s];
                            }
                    ref[((n * K + k) * OH + oh) * OW + ow] = acc;
                }
    double ref_max = 0, ref_sum = 0;
    for (double v : ref) {
        ref_max = std::fmax(ref_max, std::fabs(v));
        ref_sum += v;
    }
    std::printf("problem: x %dx%dx%dx%d, w %dx%dx%dx%d, pad %d, stride %d -> y %dx%dx%dx%d "
                "(float, NCHW); CPU reference max |y| = %.4f, sum = %.6f\n",
                N, C, H, W, K, C, R, S, PAD, STRIDE, N, K, OH, OW, ref_max, ref_sum);

    // ---- cuDNN
    cudnnHandle_t handle;
    CUDNN_OK(cudnnCreate(&handle));
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    CUDNN_OK(cudnnCreateTensorDescriptor(&xd));
    CUDNN_OK(cudnnCreateTensorDescriptor(&yd));
    CUDNN_OK(cudnnCreateFilterDescriptor(&wd));
    CUDNN_OK(cudnnCreateConvolutionDescriptor(&cd));
    CUDNN_OK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, C, H, W));
    CUDNN_OK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, K, C, R, S));
    CUDNN_OK(cudnnSetConvolution2dDescriptor(cd, PAD, PAD, STRIDE, STRIDE, DILATION, DILATION,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    int on, ok_, oh_, ow_;
    CUDNN_OK(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &on, &ok_, &oh_, &ow_));
    if (on != N || ok_ != K || oh_ != OH || ow_ != OW) {
        std::printf("MISMATCH: cuDNN output %dx%dx%dx%d, expected %dx%dx%dx%d\n", on, ok_, oh_,
                    ow_, N, K, OH, OW);
        return 1;
    }
    CUDNN_OK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, N, K, OH, OW));

    float *dx, *dw, *dy;
    CUDA_OK(cudaMalloc(&dx, x.size() * sizeof(float)));
    CUDA_OK(cudaMalloc(&dw, w.size() * sizeof(float)));
    CUDA_OK(cudaMalloc(&dy, ref.size() * sizeof(float)));
    CUDA_OK(cudaMemcpy(dx, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dw, w.data(), w.size() * sizeof(float), cudaMemcpyHostToDevice));
    std::vector<float> y(ref.size());

    // One forward pass with `algo`; false (and the status printed) when cuDNN refuses it.
    auto run = [&](cudnnConvolutionFwdAlgo_t algo, Errors* out) -> bool {
        size_t bytes = 0;
        cudnnStatus_t st = cudnnGetConvolutionForwardWorkspaceSize(handle, xd, wd, cd, yd, algo, &bytes);
        if (st != CUDNN_STATUS_SUCCESS) {
            std::printf("  %-22s not available: %s\n", algo_name(algo), cudnnGetErrorString(st));
            return false;
        }
        void* ws = nullptr;
        if (bytes) CUDA_OK(cudaMalloc(&ws, bytes));
        CUDA_OK(cudaMemset(dy, 0xff, ref.size() * sizeof(float)));  // NaNs: a skipped write shows
        const float alpha = 1.0f, beta = 0.0f;
        st = cudnnConvolutionForward(handle, &alpha, xd, dx, wd, dw, cd, algo, ws, bytes, &beta, yd, dy);
        CUDA_OK(cudaDeviceSynchronize());
        if (ws) CUDA_OK(cudaFree(ws));
        if (st != CUDNN_STATUS_SUCCESS) {
            std::printf("  %-22s not available: %s\n", algo_name(algo), cudnnGetErrorString(st));
            return false;
        }
        CUDA_OK(cudaMemcpy(y.data(), dy, y.size() * sizeof(float), cudaMemcpyDeviceToHost));
        *out = compare(y, ref);
        return true;
    };

    // Which algorithm the heuristic picks under `math`.
    auto pick = [&](cudnnMathType_t math, cudnnConvolutionFwdAlgoPerf_t* best) {
        CUDNN_OK(cudnnSetConvolutionMathType(cd, math));
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int got = 0;
        CUDNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(handle, xd, wd, cd, yd,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
        for (int i = 0; i < got; ++i)
            if (perf[i].status == CUDNN_STATUS_SUCCESS) {
                *best = perf[i];
                return;
            }
        std::printf("ERROR: the heuristic offers no algorithm for %s\n", math_name(math));
        std::exit(2);
    };

    auto verdict = [&](const char* label, const Errors& e, double tol) {
        bool pass = e.max_abs <= tol;
        std::printf("RESULT %s max_abs_err=%.3e max_rel_err=%.3e tol=%.0e %s\n", label, e.max_abs,
                    e.max_rel, tol, pass ? "PASS" : "FAIL");
        ok = ok && pass;
    };

    // 1. the heuristic's pick, FP32 FMA math
    cudnnConvolutionFwdAlgoPerf_t best;
    pick(CUDNN_FMA_MATH, &best);
    std::printf("heuristic (FMA_MATH): %s, math %s, workspace %zu bytes\n", algo_name(best.algo),
                math_name(best.mathType), best.memory);
    Errors e;
    if (!run(best.algo, &e)) return 2;
    verdict("fp32", e, TOL_FP32);
    std::printf("GPU output: y[0] = %.6f (CPU %.6f), y[last] = %.6f (CPU %.6f)\n", y[0], ref[0],
                y.back(), ref.back());

    // 2. every algorithm cuDNN accepts, FMA math
    std::printf("every forward algorithm, FMA_MATH:\n");
    int ran = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
        Errors ea;
        if (!run(static_cast<cudnnConvolutionFwdAlgo_t>(a), &ea)) continue;
        ++ran;
        bool pass = ea.max_abs <= TOL_FP32;
        std::printf("  %-22s max_abs_err=%.3e max_rel_err=%.3e %s\n", algo_name(a), ea.max_abs,
                    ea.max_rel, pass ? "PASS" : "FAIL");
        ok = ok && pass;
    }
    std::printf("RESULT algorithms ran=%d of %d\n", ran, static_cast<int>(CUDNN_CONVOLUTION_FWD_ALGO_COUNT));
    if (ran == 0) ok = false;

    // 3. the heuristic's pick with default math (TF32 tensor cores allowed)
    pick(CUDNN_DEFAULT_MATH, &best);
    std::printf("heuristic (DEFAULT_MATH): %s, math %s, workspace %zu bytes\n", algo_name(best.algo),
                math_name(best.mathType), best.memory);
    if (!run(best.algo, &e)) return 2;
    verdict("default_math", e, TOL_TF32);

    CUDA_OK(cudaFree(dx));
    CUDA_OK(cudaFree(dw));
    CUDA_OK(cudaFree(dy));
    CUDNN_OK(cudnnDestroyConvolutionDescriptor(cd));
    CUDNN_OK(cudnnDestroyFilterDescriptor(wd));
    CUDNN_OK(cudnnDestroyTensorDescriptor(xd));
    CUDNN_OK(cudnnDestroyTensorDescriptor(yd));
    print_loaded_libraries();
    CUDNN_OK(cudnnDestroy(handle));
    std::printf("conv_check: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
