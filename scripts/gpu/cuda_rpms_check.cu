// CUDA RPMs built from specgen's --cuda-from-redist specs, on a GPU: a kernel compiled by the
// cuda-nvcc RPM and run through the cuda-cudart RPM's libcudart, and a kernel compiled at run time
// by the cuda-nvrtc RPM's libnvrtc and loaded through cudart's library API (docs/gpu-build.md,
// "CUDA's own RPMs on the H100"). Exit 0 when every result is right.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include <nvrtc.h>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("FAIL %s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)
#define NK(x) do { nvrtcResult r = (x); if (r != NVRTC_SUCCESS) { printf("FAIL %s: %s\n", #x, nvrtcGetErrorString(r)); return 1; } } while (0)

__global__ void add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

static const char* saxpy_src =
    "extern \"C\" __global__ void saxpy(float a, const float* x, float* y, int n) {\n"
    "  int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = a * x[i] + y[i]; }\n";

int main() {
    int rt = 0, drv = 0;
    CK(cudaRuntimeGetVersion(&rt));
    CK(cudaDriverGetVersion(&drv));
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("cudart %d, driver %d, device %s, sm_%d%d\n", rt, drv, p.name, p.major, p.minor);

    const int n = 1 << 20;
    std::vector<float> a(n), b(n), c(n);
    for (int i = 0; i < n; i++) { a[i] = i; b[i] = 2.0f * i; }
    float *da, *db, *dc;
    CK(cudaMalloc(&da, n * 4)); CK(cudaMalloc(&db, n * 4)); CK(cudaMalloc(&dc, n * 4));
    CK(cudaMemcpy(da, a.data(), n * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(db, b.data(), n * 4, cudaMemcpyHostToDevice));
    add<<<(n + 255) / 256, 256>>>(da, db, dc, n);
    CK(cudaGetLastError());
    CK(cudaMemcpy(c.data(), dc, n * 4, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int i = 0; i < n; i++) if (c[i] != 3.0f * i) bad++;
    printf("nvcc kernel: %d of %d sums wrong\n", bad, n);
    if (bad) return 1;

    int major = 0, minor = 0;
    NK(nvrtcVersion(&major, &minor));
    nvrtcProgram prog;
    NK(nvrtcCreateProgram(&prog, saxpy_src, "saxpy.cu", 0, nullptr, nullptr));
    char arch[32];
    snprintf(arch, sizeof arch, "--gpu-architecture=sm_%d%d", p.major, p.minor);
    const char* opts[] = {arch};
    nvrtcResult r = nvrtcCompileProgram(prog, 1, opts);
    size_t logn = 0; nvrtcGetProgramLogSize(prog, &logn);
    if (r != NVRTC_SUCCESS) { std::vector<char> log(logn + 1); nvrtcGetProgramLog(prog, log.data()); printf("FAIL nvrtc: %s\n", log.data()); return 1; }
    size_t cubin_n = 0; NK(nvrtcGetCUBINSize(prog, &cubin_n));
    std::vector<char> cubin(cubin_n); NK(nvrtcGetCUBIN(prog, cubin.data()));
    printf("nvrtc %d.%d compiled saxpy for %s: %zu bytes of cubin\n", major, minor, arch + 19, cubin_n);
    cudaLibrary_t lib; cudaKernel_t k;
    CK(cudaLibraryLoadData(&lib, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
    CK(cudaLibraryGetKernel(&k, lib, "saxpy"));
    float alpha = 0.5f; int nn = n;
    void* args[] = {&alpha, &da, &dc, &nn};   // y = c = 3i  ->  0.5*i + 3i
    CK(cudaLaunchKernel((const void*)k, dim3((n + 255) / 256), dim3(256), args, 0, 0));
    CK(cudaMemcpy(c.data(), dc, n * 4, cudaMemcpyDeviceToHost));
    bad = 0;
    for (int i = 0; i < n; i++) if (c[i] != 3.5f * i) bad++;
    printf("nvrtc kernel: %d of %d results wrong\n", bad, n);
    return bad ? 1 : 0;
}
