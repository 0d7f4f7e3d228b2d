/*
 * emit/target.c - the targets cnnc writes C for: each is data that the emitters read (the
 * width of a vector, how many registers hold them, whether a fused multiply-add exists) and
 * the lines that spell a vector in C for it. No emitter tests a target by name.
 *
 * Every vector operation of the generated kernels goes through the macros written here:
 *   cnn_vf               a vector of `lanes` floats
 *   VF_ZERO(v)           v = 0
 *   VF_SET1(v, s)        every lane of v = s
 *   VF_LOAD(v, p)        v = p[0 .. lanes), any alignment
 *   VF_LOADN(v, p, n)    v = p[0 .. n), the other lanes 0 (n a literal below lanes)
 *   VF_STORE(p, v)       p[0 .. lanes) = v
 *   VF_STOREN(p, v, n)   p[0 .. n) = v's first n lanes
 *   VF_FMA(a, w, x)      a += w * x: one rounding where the target has FMA, two elsewhere
 *   VF_ADD(a, v)         a += v
 *   VF_SUB(a, v)         a -= v
 *   VF_MUL(a, v)         a *= v
 *   VF_COPY(d, s)        d = s
 *   VF_SQRT(v), VF_DIV(a, v)   v = sqrt(v), a /= v, correctly rounded like sqrtf and /
 *   VF_RELU(v)           v = v > 0 ? v : 0 in every lane, as the scalar relu (NaN and -0 give 0)
 *   VF_RELU_GRAD(d, y)   d *= y > 0 ? 1 : 0 in every lane: relu's gradient from its output, the
 *                        same floats as the scalar expression (a NaN in d stays NaN)
 *   VF_CLAMP(v, lo, hi)  v = min(max(v, lo), hi) in every lane; a NaN stays NaN
 *   VF_TRANSPOSE(m)      m, an array of `lanes` vectors, transposed in place: lane j of m[i]
 *                        becomes lane i of m[j] (exact: the floats only move)
 * Statement macros that assign, so that the same kernel text works for the plain-C target,
 * whose vector is an array. Intrinsics, not the compiler's vector extensions: the arithmetic
 * is then the same under any -std and -ffp-contract, and the prelude refuses, at compile
 * time, a compiler that was not given the target's instructions.
 */
#include <string.h>

#include "emit/writer.h"

/* ------------------------------------------------------------------ the spellings */

static const char *const generic_lines[] = {
    "/* Plain C99: a vector is an array of 4 floats, each operation a loop over it that the C",
    " * compiler may map onto whatever vector unit the machine has. */",
    "typedef float cnn_vf[4];",
    "#define VF_LANES_(i) for (int i = 0; i < 4; i++)",
    "#define VF_ZERO(v) VF_LANES_(l_) (v)[l_] = 0.0f",
    "#define VF_SET1(v, s) do { const float s_ = (s); VF_LANES_(l_) (v)[l_] = s_; } while (0)",
    "#define VF_LOAD(v, p) memcpy((v), (p), sizeof(cnn_vf))",
    "#define VF_LOADN(v, p, n) do { VF_ZERO(v); memcpy((v), (p), (n) * sizeof(float)); } while (0)",
    "#define VF_STORE(p, v) memcpy((p), (v), sizeof(cnn_vf))",
    "#define VF_STOREN(p, v, n) memcpy((p), (v), (n) * sizeof(float))",
    "#define VF_FMA(a, w, x) VF_LANES_(l_) (a)[l_] += (w)[l_] * (x)[l_]",
    "#define VF_ADD(a, v) VF_LANES_(l_) (a)[l_] += (v)[l_]",
    "#define VF_SUB(a, v) VF_LANES_(l_) (a)[l_] -= (v)[l_]",
    "#define VF_COPY(d, s) memcpy((d), (s), sizeof(cnn_vf))",
    "#define VF_MUL(a, v) VF_LANES_(l_) (a)[l_] *= (v)[l_]",
    "#define VF_SQRT(v) VF_LANES_(l_) (v)[l_] = sqrtf((v)[l_])",
    "#define VF_DIV(a, v) VF_LANES_(l_) (a)[l_] /= (v)[l_]",
    "#define VF_RELU(v) VF_LANES_(l_) (v)[l_] = (v)[l_] > 0.0f ? (v)[l_] : 0.0f",
    "#define VF_RELU_GRAD(d, y) VF_LANES_(l_) (d)[l_] *= (y)[l_] > 0.0f ? 1.0f : 0.0f",
    "#define VF_CLAMP(v, lo, hi) VF_LANES_(l_) (v)[l_] = (v)[l_] < (lo)[l_] ? (lo)[l_] : (v)[l_] > (hi)[l_] ? (hi)[l_] : (v)[l_]",
    "#define VF_TRANSPOSE(m) do { for (int i_ = 0; i_ < 4; i_++) for (int j_ = i_ + 1; j_ < 4; j_++) { \\",
    "    const float t_ = (m)[i_][j_]; (m)[i_][j_] = (m)[j_][i_]; (m)[j_][i_] = t_; } } while (0)",
    NULL,
};

static const char *const sse2_lines[] = {
    "/* SSE2: a vector is an __m128 of 4 floats. SSE2 has no fused multiply-add, so VF_FMA is a",
    " * multiplication and an addition, each rounded. */",
    "#include <emmintrin.h>",
    "typedef __m128 cnn_vf;",
    "#define VF_ZERO(v) ((v) = _mm_setzero_ps())",
    "#define VF_SET1(v, s) ((v) = _mm_set1_ps(s))",
    "#define VF_LOAD(v, p) ((v) = _mm_loadu_ps(p))",
    "#define VF_STORE(p, v) _mm_storeu_ps((p), (v))",
    "#define VF_LOAD1_(p) _mm_load_ss(p)",
    "#define VF_LOAD2_(p) _mm_castsi128_ps(_mm_loadl_epi64((const void *)(p))) /* its pointer may alias; _mm_load_sd's may not */",
    "#define VF_LOAD3_(p) _mm_movelh_ps(VF_LOAD2_(p), _mm_load_ss((p) + 2))",
    "#define VF_LOADN(v, p, n) ((v) = VF_LOAD##n##_(p))",
    "#define VF_STORE1_(p, v) _mm_store_ss((p), (v))",
    "#define VF_STORE2_(p, v) _mm_storel_pi((__m64 *)(void *)(p), (v))",
    "#define VF_STORE3_(p, v) (VF_STORE2_((p), (v)), _mm_store_ss((p) + 2, _mm_movehl_ps((v), (v))))",
    "#define VF_STOREN(p, v, n) VF_STORE##n##_((p), (v))",
    "#define VF_FMA(a, w, x) ((a) = _mm_add_ps((a), _mm_mul_ps((w), (x))))",
    "#define VF_ADD(a, v) ((a) = _mm_add_ps((a), (v)))",
    "#define VF_SUB(a, v) ((a) = _mm_sub_ps((a), (v)))",
    "#define VF_COPY(d, s) ((d) = (s))",
    "#define VF_MUL(a, v) ((a) = _mm_mul_ps((a), (v)))",
    "#define VF_SQRT(v) ((v) = _mm_sqrt_ps(v))",
    "#define VF_DIV(a, v) ((a) = _mm_div_ps((a), (v)))",
    "#define VF_RELU(v) ((v) = _mm_max_ps((v), _mm_setzero_ps())) /* max gives its second operand for NaN */",
    "#define VF_RELU_GRAD(d, y) ((d) = _mm_mul_ps((d), _mm_and_ps(_mm_cmpgt_ps((y), _mm_setzero_ps()), _mm_set1_ps(1.0f))))",
    "#define VF_CLAMP(v, lo, hi) ((v) = _mm_min_ps((hi), _mm_max_ps((lo), (v)))) /* NaN, the second operand, passes */",
    "#define VF_TRANSPOSE(m) _MM_TRANSPOSE4_PS((m)[0], (m)[1], (m)[2], (m)[3])",
    NULL,
};

static const char *const avx2_lines[] = {
    "/* AVX2 with FMA: a vector is an __m256 of 8 floats; partial vectors load and store through",
    " * masks, which never touch the floats past n. */",
    "#include <immintrin.h>",
    "typedef __m256 cnn_vf;",
    "#define VF_ZERO(v) ((v) = _mm256_setzero_ps())",
    "#define VF_SET1(v, s) ((v) = _mm256_set1_ps(s))",
    "#define VF_LOAD(v, p) ((v) = _mm256_loadu_ps(p))",
    "#define VF_STORE(p, v) _mm256_storeu_ps((p), (v))",
    "#define VF_MASK_(n) _mm256_setr_epi32((n) > 0 ? -1 : 0, (n) > 1 ? -1 : 0, (n) > 2 ? -1 : 0, (n) > 3 ? -1 : 0, \\",
    "                                      (n) > 4 ? -1 : 0, (n) > 5 ? -1 : 0, (n) > 6 ? -1 : 0, 0)",
    "#define VF_LOADN(v, p, n) ((v) = _mm256_maskload_ps((p), VF_MASK_(n)))",
    "#define VF_STOREN(p, v, n) _mm256_maskstore_ps((p), VF_MASK_(n), (v))",
    "#define VF_FMA(a, w, x) ((a) = _mm256_fmadd_ps((w), (x), (a)))",
    "#define VF_ADD(a, v) ((a) = _mm256_add_ps((a), (v)))",
    "#define VF_SUB(a, v) ((a) = _mm256_sub_ps((a), (v)))",
    "#define VF_COPY(d, s) ((d) = (s))",
    "#define VF_MUL(a, v) ((a) = _mm256_mul_ps((a), (v)))",
    "#define VF_SQRT(v) ((v) = _mm256_sqrt_ps(v))",
    "#define VF_DIV(a, v) ((a) = _mm256_div_ps((a), (v)))",
    "#define VF_RELU(v) ((v) = _mm256_max_ps((v), _mm256_setzero_ps())) /* max gives its second operand for NaN */",
    "#define VF_RELU_GRAD(d, y) ((d) = _mm256_mul_ps((d), _mm256_and_ps(_mm256_cmp_ps((y), _mm256_setzero_ps(), _CMP_GT_OQ), \\",
    "                                                     _mm256_set1_ps(1.0f))))",
    "#define VF_CLAMP(v, lo, hi) ((v) = _mm256_min_ps((hi), _mm256_max_ps((lo), (v)))) /* NaN, the second operand, passes */",
    "#define VF_TRANSPOSE(m) do { \\",
    "    __m256 t_[8], u_[8]; \\",
    "    t_[0] = _mm256_unpacklo_ps((m)[0], (m)[1]); t_[1] = _mm256_unpackhi_ps((m)[0], (m)[1]); \\",
    "    t_[2] = _mm256_unpacklo_ps((m)[2], (m)[3]); t_[3] = _mm256_unpackhi_ps((m)[2], (m)[3]); \\",
    "    t_[4] = _mm256_unpacklo_ps((m)[4], (m)[5]); t_[5] = _mm256_unpackhi_ps((m)[4], (m)[5]); \\",
    "    t_[6] = _mm256_unpacklo_ps((m)[6], (m)[7]); t_[7] = _mm256_unpackhi_ps((m)[6], (m)[7]); \\",
    "    u_[0] = _mm256_shuffle_ps(t_[0], t_[2], 0x44); u_[1] = _mm256_shuffle_ps(t_[0], t_[2], 0xee); \\",
    "    u_[2] = _mm256_shuffle_ps(t_[1], t_[3], 0x44); u_[3] = _mm256_shuffle_ps(t_[1], t_[3], 0xee); \\",
    "    u_[4] = _mm256_shuffle_ps(t_[4], t_[6], 0x44); u_[5] = _mm256_shuffle_ps(t_[4], t_[6], 0xee); \\",
    "    u_[6] = _mm256_shuffle_ps(t_[5], t_[7], 0x44); u_[7] = _mm256_shuffle_ps(t_[5], t_[7], 0xee); \\",
    "    (m)[0] = _mm256_permute2f128_ps(u_[0], u_[4], 0x20); (m)[4] = _mm256_permute2f128_ps(u_[0], u_[4], 0x31); \\",
    "    (m)[1] = _mm256_permute2f128_ps(u_[1], u_[5], 0x20); (m)[5] = _mm256_permute2f128_ps(u_[1], u_[5], 0x31); \\",
    "    (m)[2] = _mm256_permute2f128_ps(u_[2], u_[6], 0x20); (m)[6] = _mm256_permute2f128_ps(u_[2], u_[6], 0x31); \\",
    "    (m)[3] = _mm256_permute2f128_ps(u_[3], u_[7], 0x20); (m)[7] = _mm256_permute2f128_ps(u_[3], u_[7], 0x31); \\",
    "} while (0)",
    NULL,
};

static const char *const avx512_lines[] = {
    "/* AVX-512: a vector is an __m512 of 16 floats; partial vectors load and store through",
    " * masks, which never touch the floats past n. */",
    "#include <immintrin.h>",
    "typedef __m512 cnn_vf;",
    "#define VF_ZERO(v) ((v) = _mm512_setzero_ps())",
    "#define VF_SET1(v, s) ((v) = _mm512_set1_ps(s))",
    "#define VF_LOAD(v, p) ((v) = _mm512_loadu_ps(p))",
    "#define VF_STORE(p, v) _mm512_storeu_ps((p), (v))",
    "#define VF_LOADN(v, p, n) ((v) = _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))",
    "#define VF_STOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (v))",
    "#define VF_FMA(a, w, x) ((a) = _mm512_fmadd_ps((w), (x), (a)))",
    "#define VF_ADD(a, v) ((a) = _mm512_add_ps((a), (v)))",
    "#define VF_SUB(a, v) ((a) = _mm512_sub_ps((a), (v)))",
    "#define VF_COPY(d, s) ((d) = (s))",
    "#define VF_MUL(a, v) ((a) = _mm512_mul_ps((a), (v)))",
    "#define VF_SQRT(v) ((v) = _mm512_sqrt_ps(v))",
    "#define VF_DIV(a, v) ((a) = _mm512_div_ps((a), (v)))",
    "#define VF_RELU(v) ((v) = _mm512_max_ps((v), _mm512_setzero_ps())) /* max gives its second operand for NaN */",
    "#define VF_RELU_GRAD(d, y) ((d) = _mm512_mul_ps((d), _mm512_maskz_mov_ps(_mm512_cmp_ps_mask((y), _mm512_setzero_ps(), _CMP_GT_OQ), \\",
    "                                                                         _mm512_set1_ps(1.0f))))",
    "#define VF_CLAMP(v, lo, hi) ((v) = _mm512_min_ps((hi), _mm512_max_ps((lo), (v)))) /* NaN, the second operand, passes */",
    "#define VF_TRANSPOSE(m) do { \\",
    "    __m512 t_[16], u_[16]; \\",
    "    t_[0] = _mm512_unpacklo_ps((m)[0], (m)[1]); t_[1] = _mm512_unpackhi_ps((m)[0], (m)[1]); \\",
    "    t_[2] = _mm512_unpacklo_ps((m)[2], (m)[3]); t_[3] = _mm512_unpackhi_ps((m)[2], (m)[3]); \\",
    "    t_[4] = _mm512_unpacklo_ps((m)[4], (m)[5]); t_[5] = _mm512_unpackhi_ps((m)[4], (m)[5]); \\",
    "    t_[6] = _mm512_unpacklo_ps((m)[6], (m)[7]); t_[7] = _mm512_unpackhi_ps((m)[6], (m)[7]); \\",
    "    t_[8] = _mm512_unpacklo_ps((m)[8], (m)[9]); t_[9] = _mm512_unpackhi_ps((m)[8], (m)[9]); \\",
    "    t_[10] = _mm512_unpacklo_ps((m)[10], (m)[11]); t_[11] = _mm512_unpackhi_ps((m)[10], (m)[11]); \\",
    "    t_[12] = _mm512_unpacklo_ps((m)[12], (m)[13]); t_[13] = _mm512_unpackhi_ps((m)[12], (m)[13]); \\",
    "    t_[14] = _mm512_unpacklo_ps((m)[14], (m)[15]); t_[15] = _mm512_unpackhi_ps((m)[14], (m)[15]); \\",
    "    u_[0] = _mm512_shuffle_ps(t_[0], t_[2], 0x44); u_[1] = _mm512_shuffle_ps(t_[0], t_[2], 0xee); \\",
    "    u_[2] = _mm512_shuffle_ps(t_[1], t_[3], 0x44); u_[3] = _mm512_shuffle_ps(t_[1], t_[3], 0xee); \\",
    "    u_[4] = _mm512_shuffle_ps(t_[4], t_[6], 0x44); u_[5] = _mm512_shuffle_ps(t_[4], t_[6], 0xee); \\",
    "    u_[6] = _mm512_shuffle_ps(t_[5], t_[7], 0x44); u_[7] = _mm512_shuffle_ps(t_[5], t_[7], 0xee); \\",
    "    u_[8] = _mm512_shuffle_ps(t_[8], t_[10], 0x44); u_[9] = _mm512_shuffle_ps(t_[8], t_[10], 0xee); \\",
    "    u_[10] = _mm512_shuffle_ps(t_[9], t_[11], 0x44); u_[11] = _mm512_shuffle_ps(t_[9], t_[11], 0xee); \\",
    "    u_[12] = _mm512_shuffle_ps(t_[12], t_[14], 0x44); u_[13] = _mm512_shuffle_ps(t_[12], t_[14], 0xee); \\",
    "    u_[14] = _mm512_shuffle_ps(t_[13], t_[15], 0x44); u_[15] = _mm512_shuffle_ps(t_[13], t_[15], 0xee); \\",
    "    t_[0] = _mm512_shuffle_f32x4(u_[0], u_[4], 0x88); t_[4] = _mm512_shuffle_f32x4(u_[0], u_[4], 0xdd); \\",
    "    t_[8] = _mm512_shuffle_f32x4(u_[8], u_[12], 0x88); t_[12] = _mm512_shuffle_f32x4(u_[8], u_[12], 0xdd); \\",
    "    t_[1] = _mm512_shuffle_f32x4(u_[1], u_[5], 0x88); t_[5] = _mm512_shuffle_f32x4(u_[1], u_[5], 0xdd); \\",
    "    t_[9] = _mm512_shuffle_f32x4(u_[9], u_[13], 0x88); t_[13] = _mm512_shuffle_f32x4(u_[9], u_[13], 0xdd); \\",
    "    t_[2] = _mm512_shuffle_f32x4(u_[2], u_[6], 0x88); t_[6] = _mm512_shuffle_f32x4(u_[2], u_[6], 0xdd); \\",
    "    t_[10] = _mm512_shuffle_f32x4(u_[10], u_[14], 0x88); t_[14] = _mm512_shuffle_f32x4(u_[10], u_[14], 0xdd); \\",
    "    t_[3] = _mm512_shuffle_f32x4(u_[3], u_[7], 0x88); t_[7] = _mm512_shuffle_f32x4(u_[3], u_[7], 0xdd); \\",
    "    t_[11] = _mm512_shuffle_f32x4(u_[11], u_[15], 0x88); t_[15] = _mm512_shuffle_f32x4(u_[11], u_[15], 0xdd); \\",
    "    (m)[0] = _mm512_shuffle_f32x4(t_[0], t_[8], 0x88); (m)[4] = _mm512_shuffle_f32x4(t_[4], t_[12], 0x88); \\",
    "    (m)[8] = _mm512_shuffle_f32x4(t_[0], t_[8], 0xdd); (m)[12] = _mm512_shuffle_f32x4(t_[4], t_[12], 0xdd); \\",
    "    (m)[1] = _mm512_shuffle_f32x4(t_[1], t_[9], 0x88); (m)[5] = _mm512_shuffle_f32x4(t_[5], t_[13], 0x88); \\",
    "    (m)[9] = _mm512_shuffle_f32x4(t_[1], t_[9], 0xdd); (m)[13] = _mm512_shuffle_f32x4(t_[5], t_[13], 0xdd); \\",
    "    (m)[2] = _mm512_shuffle_f32x4(t_[2], t_[10], 0x88); (m)[6] = _mm512_shuffle_f32x4(t_[6], t_[14], 0x88); \\",
    "    (m)[10] = _mm512_shuffle_f32x4(t_[2], t_[10], 0xdd); (m)[14] = _mm512_shuffle_f32x4(t_[6], t_[14], 0xdd); \\",
    "    (m)[3] = _mm512_shuffle_f32x4(t_[3], t_[11], 0x88); (m)[7] = _mm512_shuffle_f32x4(t_[7], t_[15], 0x88); \\",
    "    (m)[11] = _mm512_shuffle_f32x4(t_[3], t_[11], 0xdd); (m)[15] = _mm512_shuffle_f32x4(t_[7], t_[15], 0xdd); \\",
    "} while (0)",
    NULL,
};

static const char *const neon_lines[] = {
    "/* AArch64 NEON: a vector is a float32x4_t of 4 floats, with a fused multiply-add. */",
    "#include <arm_neon.h>",
    "typedef float32x4_t cnn_vf;",
    "#define VF_ZERO(v) ((v) = vdupq_n_f32(0.0f))",
    "#define VF_SET1(v, s) ((v) = vdupq_n_f32(s))",
    "#define VF_LOAD(v, p) ((v) = vld1q_f32(p))",
    "#define VF_STORE(p, v) vst1q_f32((p), (v))",
    "#define VF_LOAD1_(p) vsetq_lane_f32((p)[0], vdupq_n_f32(0.0f), 0)",
    "#define VF_LOAD2_(p) vcombine_f32(vld1_f32(p), vdup_n_f32(0.0f))",
    "#define VF_LOAD3_(p) vsetq_lane_f32((p)[2], VF_LOAD2_(p), 2)",
    "#define VF_LOADN(v, p, n) ((v) = VF_LOAD##n##_(p))",
    "#define VF_STORE1_(p, v) vst1q_lane_f32((p), (v), 0)",
    "#define VF_STORE2_(p, v) vst1_f32((p), vget_low_f32(v))",
    "#define VF_STORE3_(p, v) (VF_STORE2_((p), (v)), vst1q_lane_f32((p) + 2, (v), 2))",
    "#define VF_STOREN(p, v, n) VF_STORE##n##_((p), (v))",
    "#define VF_FMA(a, w, x) ((a) = vfmaq_f32((a), (w), (x)))",
    "#define VF_ADD(a, v) ((a) = vaddq_f32((a), (v)))",
    "#define VF_SUB(a, v) ((a) = vsubq_f32((a), (v)))",
    "#define VF_COPY(d, s) ((d) = (s))",
    "#define VF_MUL(a, v) ((a) = vmulq_f32((a), (v)))",
    "#define VF_SQRT(v) ((v) = vsqrtq_f32(v))",
    "#define VF_DIV(a, v) ((a) = vdivq_f32((a), (v)))",
    "#define VF_RELU(v) ((v) = vmaxnmq_f32((v), vdupq_n_f32(0.0f))) /* maxnm gives the number for NaN */",
    "#define VF_RELU_GRAD(d, y) ((d) = vmulq_f32((d), vreinterpretq_f32_u32(vandq_u32(vcgtq_f32((y), vdupq_n_f32(0.0f)), \\",
    "                                                   vreinterpretq_u32_f32(vdupq_n_f32(1.0f))))))",
    "#define VF_CLAMP(v, lo, hi) ((v) = vminq_f32(vmaxq_f32((v), (lo)), (hi))) /* min and max keep a NaN */",
    "#define VF_TRANSPOSE(m) do { \\",
    "    const float32x4_t t0_ = vzip1q_f32((m)[0], (m)[2]), t1_ = vzip2q_f32((m)[0], (m)[2]); \\",
    "    const float32x4_t t2_ = vzip1q_f32((m)[1], (m)[3]), t3_ = vzip2q_f32((m)[1], (m)[3]); \\",
    "    (m)[0] = vzip1q_f32(t0_, t2_); (m)[1] = vzip2q_f32(t0_, t2_); \\",
    "    (m)[2] = vzip1q_f32(t1_, t3_); (m)[3] = vzip2q_f32(t1_, t3_); \\",
    "} while (0)",
    NULL,
};

/* ------------------------------------------------------------------ the targets */

static const Target targets[] = {
    {
        .name = "generic",
        .summary = "plain C99, no extensions; any conforming compiler",
        .lanes = 4,
        .registers = 16,
        .fma = false,
        .cflags = "",
        .check = NULL,
        .prelude = generic_lines,
    },
    {
        .name = "x86-64",
        .summary = "SSE2: 4 lanes, 16 registers, no FMA",
        .lanes = 4,
        .registers = 16,
        .fma = false,
        .cflags = "-msse2",
        .check = "defined(__SSE2__)",
        .prelude = sse2_lines,
    },
    {
        .name = "avx2",
        .summary = "AVX2 and FMA: 8 lanes, 16 registers",
        .lanes = 8,
        .registers = 16,
        .fma = true,
        .cflags = "-mavx2 -mfma",
        .check = "defined(__AVX2__) && defined(__FMA__)",
        .prelude = avx2_lines,
    },
    {
        .name = "avx512",
        .summary = "AVX-512F: 16 lanes, 32 registers, FMA",
        .lanes = 16,
        .registers = 32,
        .fma = true,
        .cflags = "-mavx512f -mavx2 -mfma",
        .check = "defined(__AVX512F__)",
        .prelude = avx512_lines,
    },
    {
        .name = "neon",
        .summary = "AArch64 NEON: 4 lanes, 32 registers, FMA",
        .lanes = 4,
        .registers = 32,
        .fma = true,
        .cflags = "",
        .check = "defined(__aarch64__) && defined(__ARM_NEON)",
        .prelude = neon_lines,
    },
};

#define TARGET_COUNT ((int)(sizeof targets / sizeof targets[0]))

const Target *target_named(const char *name)
{
    for (int i = 0; name && i < TARGET_COUNT; i++)
        if (strcmp(targets[i].name, name) == 0)
            return &targets[i];
    return NULL;
}

const char *const *target_names(void)
{
    static const char *names[TARGET_COUNT + 1];
    for (int i = 0; i < TARGET_COUNT; i++)
        names[i] = targets[i].name;
    names[TARGET_COUNT] = NULL;
    return names;
}

/* The host's own target, as -march=native would give it: what cnnc itself runs on. */
const Target *target_host(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return target_named("avx512");
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return target_named("avx2");
    return target_named("x86-64");
#elif defined(__aarch64__)
    return target_named("neon");
#else
    return target_named("generic");
#endif
}

const Target *target_generic(void)
{
    return &targets[0];
}

const char *target_name(const Target *t)
{
    return t->name;
}

const char *target_cflags(const Target *t)
{
    return t->cflags;
}
