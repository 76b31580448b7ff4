/*
 * Resampling an 8-bit RGB crop (HWC) to size x size float32 values: Pillow's BILINEAR filter (a triangle whose
 * support grows with the reduction factor, so reductions are antialiased), the horizontal flip and the per-channel
 * normalization folded in. Built to wasm32 with SIMD128 by scripts/build-wasm.sh (clang + lld, no libc); the binary
 * resample-crop.wasm next to this file is what runs. resample-crop-wasm.ts is its caller and documents the memory layout.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef struct {
  int32_t *first; /* first source index of output i */
  int32_t *count; /* number of taps of output i */
  float *weights; /* weights of output i at [i * max_taps], zero after its count */
  int32_t max_taps; /* stride of the weights */
  int32_t widest; /* largest count */
} Taps;

static int32_t max_taps_for(int32_t source, int32_t target) {
  double scale = (double)source / (double)target;
  double support = scale > 1.0 ? scale : 1.0;
  return (int32_t)__builtin_ceil(support) * 2 + 1;
}

/* Pillow's precompute_coeffs for the triangle filter (support 1), centres at i + 0.5. */
static void compute_taps(Taps *t, int32_t source, int32_t target) {
  double scale = (double)source / (double)target;
  double filter_scale = scale > 1.0 ? scale : 1.0;
  double support = filter_scale;
  t->widest = 1;
  for (int32_t i = 0; i < target; i++) {
    for (int32_t k = 0; k < t->max_taps; k++) t->weights[i * t->max_taps + k] = 0.0f;
    double centre = (i + 0.5) * scale;
    int32_t lo = (int32_t)__builtin_floor(centre - support + 0.5);
    int32_t hi = (int32_t)__builtin_floor(centre + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > source) hi = source;
    float *w = t->weights + i * t->max_taps;
    double total = 0.0;
    for (int32_t j = lo; j < hi; j++) {
      double x = (j + 0.5 - centre) / filter_scale;
      double v = 1.0 - __builtin_fabs(x);
      if (v < 0.0) v = 0.0;
      w[j - lo] = (float)v;
      total += v;
    }
    if (total > 0.0) for (int32_t j = lo; j < hi; j++) w[j - lo] = (float)(w[j - lo] / total);
    t->first[i] = lo;
    t->count[i] = hi - lo;
    if (hi - lo > t->widest) t->widest = hi - lo;
  }
}

/* Floats horizontal() may read past the last row: widest taps of 3 floats, plus the 4th lane. */
int32_t horizontal_padding(int32_t width, int32_t height, int32_t size) {
  int32_t longest = width > height ? width : height;
  return 3 * max_taps_for(longest, size) + 4;
}

/* Bytes of scratch resample_crop needs for the tap tables. */
int32_t taps_bytes(int32_t width, int32_t height, int32_t size) {
  return size * 4 * 4 + size * 4 * (max_taps_for(width, size) + max_taps_for(height, size));
}

/* `count` zeros from `p`: the padding that horizontal() reads past a row's end with zero weights. */
static void zero_floats(float *p, int32_t count) {
  for (int32_t i = 0; i < count; i++) p[i] = 0.0f;
}

/* Bytes 0..255 of rows [row_lo, row_hi) to floats, followed by `padding` zeros. */
static void convert_rows(const uint8_t *src, float *floats, int32_t row_bytes, int32_t row_lo, int32_t row_hi, int32_t padding) {
  const uint8_t *p = src + row_lo * row_bytes;
  float *q = floats + row_lo * row_bytes;
  const int32_t total = (row_hi - row_lo) * row_bytes;
  int32_t i = 0;
  for (; i + 16 <= total; i += 16) {
    v128_t bytes = wasm_v128_load(p + i);
    v128_t lo = wasm_u16x8_extend_low_u8x16(bytes), hi = wasm_u16x8_extend_high_u8x16(bytes);
    wasm_v128_store(q + i, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(lo)));
    wasm_v128_store(q + i + 4, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_high_u16x8(lo)));
    wasm_v128_store(q + i + 8, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_low_u16x8(hi)));
    wasm_v128_store(q + i + 12, wasm_f32x4_convert_u32x4(wasm_u32x4_extend_high_u16x8(hi)));
  }
  for (; i < total; i++) q[i] = (float)p[i];
  zero_floats(q + total, padding);
}

/* value -> min(value, top) * scale[c] + bias[c]; the identity (top = FLT_MAX) between the passes */
typedef struct {
  float top;
  float scale[3];
  float bias[3];
} Output;

/*
 * Horizontal pass over rows [y0, y1): `in` rows of in_width pixels (stride in_width * 3 floats) to `out` rows of
 * size pixels (stride size * 3), mirrored when flip. A pixel is 4 lanes (RGB + the next pixel's R, which the next
 * store overwrites), so output positions go in increasing order and `out` needs one float after its last row.
 * Every output reads t->widest taps (zero weights past its count: a fixed trip count, no mispredicted loop exits),
 * so `in` needs horizontal_padding() finite floats after its last row.
 */
static inline __attribute__((always_inline)) void horizontal_taps(const float *in, int32_t in_width, int32_t y0, int32_t y1,
                                                                  const Taps *t, int32_t size, int32_t flip,
                                                                  const Output *o, float *out, const int32_t n) {
  const v128_t top = wasm_f32x4_splat(o->top);
  const v128_t scale = wasm_f32x4_make(o->scale[0], o->scale[1], o->scale[2], o->scale[0]);
  const v128_t bias = wasm_f32x4_make(o->bias[0], o->bias[1], o->bias[2], o->bias[0]);
  const int32_t x0 = flip ? size - 1 : 0, step = flip ? -1 : 1;
  for (int32_t y = y0; y < y1; y++) {
    const float *row = in + y * in_width * 3;
    float *dst = out + y * size * 3;
    for (int32_t m = 0, x = x0; m < size; m++, x += step) {
      const float *w = t->weights + x * t->max_taps;
      const float *p = row + t->first[x] * 3;
      v128_t acc = wasm_f32x4_mul(wasm_v128_load(p), wasm_f32x4_splat(w[0]));
      for (int32_t k = 1; k < n; k++) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(p + 3 * k), wasm_f32x4_splat(w[k])));
      wasm_v128_store(dst + m * 3, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_pmin(top, acc), scale), bias));
    }
  }
}

/* The usual tap counts get a copy with a constant trip count (unrolled by the compiler). */
static void horizontal(const float *in, int32_t in_width, int32_t y0, int32_t y1, const Taps *t, int32_t size, int32_t flip,
                       const Output *o, float *out) {
  switch (t->widest) {
    case 2: horizontal_taps(in, in_width, y0, y1, t, size, flip, o, out, 2); break;
    case 3: horizontal_taps(in, in_width, y0, y1, t, size, flip, o, out, 3); break;
    case 4: horizontal_taps(in, in_width, y0, y1, t, size, flip, o, out, 4); break;
    case 5: horizontal_taps(in, in_width, y0, y1, t, size, flip, o, out, 5); break;
    default: horizontal_taps(in, in_width, y0, y1, t, size, flip, o, out, t->widest); break;
  }
}

/*
 * Vertical pass: `size` output rows of `values` floats (RGB interleaved), row y = sum over its taps of `in` rows.
 * 12 values (4 pixels) per step, so the channel pattern of the output map repeats.
 */
static void vertical(const float *in, int32_t values, const Taps *t, int32_t size, const Output *o, float *out) {
  const v128_t top = wasm_f32x4_splat(o->top);
  const float s0 = o->scale[0], s1 = o->scale[1], s2 = o->scale[2], b0 = o->bias[0], b1 = o->bias[1], b2 = o->bias[2];
  const v128_t sa = wasm_f32x4_make(s0, s1, s2, s0), sb = wasm_f32x4_make(s1, s2, s0, s1), sc = wasm_f32x4_make(s2, s0, s1, s2);
  const v128_t ba = wasm_f32x4_make(b0, b1, b2, b0), bb = wasm_f32x4_make(b1, b2, b0, b1), bc = wasm_f32x4_make(b2, b0, b1, b2);
  const int32_t vector_end = values - values % 12;
  for (int32_t y = 0; y < size; y++) {
    const int32_t n = t->count[y];
    const float *w = t->weights + y * t->max_taps;
    const float *row0 = in + t->first[y] * values;
    float *dst = out + y * values;
    /* a one-tap row reads its row twice at half weight, so the loop below needs no second case */
    const int32_t one_tap = n < 2;
    const v128_t w0 = wasm_f32x4_splat(one_tap ? 0.5f * w[0] : w[0]), w1 = wasm_f32x4_splat(one_tap ? 0.5f * w[0] : w[1]);
    const float *row1 = one_tap ? row0 : row0 + values;
    int32_t i = 0;
    for (; i < vector_end; i += 12) {
      v128_t a = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(row0 + i), w0), wasm_f32x4_mul(wasm_v128_load(row1 + i), w1));
      v128_t b = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(row0 + i + 4), w0), wasm_f32x4_mul(wasm_v128_load(row1 + i + 4), w1));
      v128_t c = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(row0 + i + 8), w0), wasm_f32x4_mul(wasm_v128_load(row1 + i + 8), w1));
      for (int32_t k = 2; k < n; k++) {
        const float *q = row0 + k * values + i;
        v128_t wk = wasm_f32x4_splat(w[k]);
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(q), wk));
        b = wasm_f32x4_add(b, wasm_f32x4_mul(wasm_v128_load(q + 4), wk));
        c = wasm_f32x4_add(c, wasm_f32x4_mul(wasm_v128_load(q + 8), wk));
      }
      wasm_v128_store(dst + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_pmin(top, a), sa), ba));
      wasm_v128_store(dst + i + 4, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_pmin(top, b), sb), bb));
      wasm_v128_store(dst + i + 8, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_pmin(top, c), sc), bc));
    }
    for (; i < values; i++) {
      float v = 0.0f;
      for (int32_t k = 0; k < n; k++) v += row0[k * values + i] * w[k];
      if (v > o->top) v = o->top;
      const int32_t ch = i % 3;
      dst[i] = v * o->scale[ch] + o->bias[ch];
    }
  }
}

/*
 * src: width x height x 3 bytes plus 16 readable bytes after them; source_floats: as many floats plus
 * horizontal_padding(). between: max(height, size) x max(width, size) x 3 floats plus horizontal_padding() (the
 * result of the first pass).
 * dst: size x size x 3 floats plus 4.  affine: scale[3], bias[3]: value = min(v, 255) * scale[c] + bias[c].
 * scratch: taps_bytes(width, height, size) bytes, 4-aligned.
 * The pass that shrinks the rows goes first: vertical first when the crop is taller than size, else horizontal.
 */
void resample_crop(const uint8_t *src, int32_t width, int32_t height, int32_t size, int32_t flip, const float *affine,
                   float *source_floats, float *between, float *dst, uint8_t *scratch) {
  Taps across, down;
  across.max_taps = max_taps_for(width, size);
  down.max_taps = max_taps_for(height, size);
  int32_t *ints = (int32_t *)scratch;
  across.first = ints;
  across.count = ints + size;
  down.first = ints + 2 * size;
  down.count = ints + 3 * size;
  across.weights = (float *)(ints + 4 * size);
  down.weights = across.weights + size * across.max_taps;
  compute_taps(&across, width, size);
  compute_taps(&down, height, size);

  const Output identity = {3.0e38f, {1.0f, 1.0f, 1.0f}, {0.0f, 0.0f, 0.0f}};
  const Output normalized = {255.0f, {affine[0], affine[1], affine[2]}, {affine[3], affine[4], affine[5]}};
  const int32_t row_lo = down.first[0];
  const int32_t row_hi = down.first[size - 1] + down.count[size - 1];
  const int32_t padding = horizontal_padding(width, height, size);
  convert_rows(src, source_floats, width * 3, row_lo, row_hi, padding);
  if (height > size) {
    vertical(source_floats, width * 3, &down, size, &identity, between);
    zero_floats(between + size * width * 3, padding);
    horizontal(between, width, 0, size, &across, size, flip, &normalized, dst);
  } else {
    horizontal(source_floats, width, row_lo, row_hi, &across, size, flip, &identity, between);
    vertical(between, size * 3, &down, size, &normalized, dst);
  }
}
