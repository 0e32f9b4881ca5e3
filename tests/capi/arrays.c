/* The C array calls (engram_arrays.h) on caller-owned buffers against closed forms and scalar
 * oracles written here: Sinkhorn plans have the requested marginals and equal the plan defined by
 * the returned potentials, point and stored costs agree, a batch equals each problem alone;
 * attention matches a plain softmax loop and its backward matches central differences of the
 * forward; k-cap matches a sort with ties to the lower index. Exits non-zero on any mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engram/engram.h"

static int failures = 0;

static void check(int ok, const char* what, double got, double want) {
  if (!ok) {
    fprintf(stderr, "FAIL %s: got %.17g, want %.17g\n", what, got, want);
    ++failures;
  }
}

static void must(engram_status s, const char* call) {
  if (s != ENGRAM_OK) {
    fprintf(stderr, "FAIL %s: %s: %s\n", call, engram_status_name(s), engram_last_error());
    exit(1);
  }
}

static double uniform(unsigned* state) {
  *state = *state * 1664525u + 1013904223u;
  return (double)(*state >> 8) / 16777216.0;
}

static void test_sinkhorn(engram_backend* backend) {
  enum { N = 9, M = 7, D = 2 };
  unsigned seed = 1;
  double x[N * D], y[M * D], cost[N * M], a[N], b[M], total = 0;
  for (int i = 0; i < N * D; ++i) x[i] = uniform(&seed);
  for (int j = 0; j < M * D; ++j) y[j] = uniform(&seed);
  for (int i = 0; i < N; ++i) total += (a[i] = 0.5 + uniform(&seed));
  for (int i = 0; i < N; ++i) a[i] /= total;
  for (int j = 0; j < M; ++j) b[j] = 1.0 / M;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < M; ++j) {
      double d0 = x[i * D] - y[j * D], d1 = x[i * D + 1] - y[j * D + 1];
      cost[i * M + j] = d0 * d0 + d1 * d1;
    }
  double f[N], g[M], plan[N * M], f2[N], g2[M], plan2[N * M], f3[3], g3[4], grad[N * D];
  engram_sinkhorn_problem points[2];
  memset(points, 0, sizeof points);
  points[0].x = x; points[0].y = y; points[0].n = N; points[0].m = M; points[0].a = a; points[0].b = b;
  points[0].eps = 0.05; points[0].tau = INFINITY; points[0].f = f; points[0].g = g; points[0].plan = plan;
  points[0].gradient = grad;
  points[1].x = x; points[1].y = y; points[1].n = 3; points[1].m = 4; points[1].eps = 0.2; points[1].tau = INFINITY;
  points[1].f = f3; points[1].g = g3;
  engram_sinkhorn_options o;
  engram_sinkhorn_options_default(&o);
  o.dim = D;
  o.tol = 1e-12;
  must(engram_sinkhorn(backend, points, 2, &o), "engram_sinkhorn(points)");
  check(points[0].converged == 1, "converged", points[0].converged, 1);
  for (int i = 0; i < N; ++i) {
    double row = 0;
    for (int j = 0; j < M; ++j) {
      double p = a[i] * b[j] * exp((f[i] + g[j] - cost[i * M + j]) / 0.05);
      check(fabs(plan[i * M + j] - p) <= 1e-12, "plan = a b exp((f + g - C) / eps)", plan[i * M + j], p);
      row += plan[i * M + j];
    }
    check(fabs(row - a[i]) <= 1e-11, "row marginal", row, a[i]);
  }
  /* The second problem alone gives the same bits. */
  engram_sinkhorn_problem alone;
  double f4[3], g4[4];
  memset(&alone, 0, sizeof alone);
  alone = points[1];
  alone.f = f4; alone.g = g4;
  must(engram_sinkhorn(backend, &alone, 1, &o), "engram_sinkhorn(alone)");
  check(memcmp(f3, f4, sizeof f3) == 0 && memcmp(g3, g4, sizeof g3) == 0, "batch = alone", f3[0], f4[0]);
  /* Stored cost: the same problem. */
  engram_sinkhorn_problem stored;
  memset(&stored, 0, sizeof stored);
  stored.cost = cost; stored.n = N; stored.m = M; stored.a = a; stored.b = b; stored.eps = 0.05;
  stored.tau = INFINITY; stored.f = f2; stored.g = g2; stored.plan = plan2;
  o.cost = ENGRAM_COST_STORED;
  must(engram_sinkhorn(backend, &stored, 1, &o), "engram_sinkhorn(stored)");
  for (int k = 0; k < N * M; ++k) check(fabs(plan2[k] - plan[k]) <= 1e-12, "stored plan", plan2[k], plan[k]);
  check(fabs(stored.transport_cost - points[0].transport_cost) <= 1e-12, "stored cost", stored.transport_cost,
        points[0].transport_cost);
  /* Gradient: sum_j P_ij 2 (x_i - y_j). */
  for (int i = 0; i < N; ++i)
    for (int d = 0; d < D; ++d) {
      double want = 0;
      for (int j = 0; j < M; ++j) want += plan[i * M + j] * 2 * (x[i * D + d] - y[j * D + d]);
      check(fabs(grad[i * D + d] - want) <= 1e-12, "gradient", grad[i * D + d], want);
    }
  /* Bad input names the field and writes nothing. */
  double untouched = 12345;
  stored.eps = -1;
  stored.f = &untouched;
  check(engram_sinkhorn(backend, &stored, 1, &o) == ENGRAM_BAD_INPUT, "bad eps status", 0, ENGRAM_BAD_INPUT);
  check(strstr(engram_last_error(), "problems[0].eps") != NULL, "bad eps message names the field", 0, 0);
  check(untouched == 12345, "nothing written on failure", untouched, 12345);

  /* Divergence: OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2 from three plain solves' dual values. */
  o.cost = ENGRAM_COST_SQ_EUCLIDEAN;
  engram_sinkhorn_problem pairs[3];
  memset(pairs, 0, sizeof pairs);
  pairs[0] = points[0];
  pairs[0].f = NULL; pairs[0].g = NULL; pairs[0].plan = NULL; pairs[0].gradient = NULL;
  pairs[1] = pairs[0]; pairs[1].y = x; pairs[1].m = N; pairs[1].b = a;
  pairs[2] = pairs[0]; pairs[2].x = y; pairs[2].n = M; pairs[2].a = b;
  must(engram_sinkhorn(backend, pairs, 3, &o), "engram_sinkhorn(divergence terms)");
  double want_divergence = pairs[0].value - pairs[1].value / 2 - pairs[2].value / 2, divergence[2] = {0, 0};
  engram_sinkhorn_problem shifted[2];
  shifted[0] = pairs[0];
  shifted[1] = pairs[2]; /* y against itself: S = 0 */
  shifted[1].y = y; shifted[1].m = M; shifted[1].b = b;
  must(engram_sinkhorn_divergence(backend, shifted, 2, &o, divergence), "engram_sinkhorn_divergence");
  check(fabs(divergence[0] - want_divergence) <= 1e-12 * fabs(want_divergence) + 1e-15, "divergence", divergence[0],
        want_divergence);
  check(want_divergence > 1e-3, "the clouds differ", want_divergence, 1e-3);
  check(fabs(divergence[1]) <= 1e-12, "divergence of a cloud with itself", divergence[1], 0);
  divergence[0] = 777;
  o.cost = ENGRAM_COST_STORED;
  check(engram_sinkhorn_divergence(backend, shifted, 1, &o, divergence) == ENGRAM_BAD_INPUT, "stored cost refused", 0,
        ENGRAM_BAD_INPUT);
  check(strstr(engram_last_error(), "options.cost") != NULL, "divergence error names options.cost", 0, 0);
  check(divergence[0] == 777, "nothing written on a refused divergence", divergence[0], 777);
}

/* Single precision: the float solve of the problem above agrees with the double one to float's
 * accuracy, is the same bits batched or alone, and its divergence matches the double divergence. */
static void test_sinkhorn_f32(engram_backend* backend) {
  enum { N = 9, M = 7, D = 2 };
  unsigned seed = 5;
  double xd[N * D], yd[M * D];
  float x[N * D], y[M * D];
  for (int i = 0; i < N * D; ++i) x[i] = (float)(xd[i] = (float)uniform(&seed));
  for (int j = 0; j < M * D; ++j) y[j] = (float)(yd[j] = (float)uniform(&seed));
  double plan_d[N * M];
  float plan[N * M], plan_alone[N * M], f[N], g[M];
  engram_sinkhorn_options o;
  engram_sinkhorn_options_default(&o);
  o.dim = D;
  o.tol = 1e-6;
  engram_sinkhorn_problem reference;
  memset(&reference, 0, sizeof reference);
  reference.x = xd; reference.y = yd; reference.n = N; reference.m = M; reference.eps = 0.05;
  reference.tau = INFINITY; reference.plan = plan_d;
  o.tol = 1e-12;
  must(engram_sinkhorn(backend, &reference, 1, &o), "engram_sinkhorn(double reference)");
  o.tol = 1e-6;
  engram_sinkhorn_problem_f32 single[2];
  memset(single, 0, sizeof single);
  single[0].x = x; single[0].y = y; single[0].n = 4; single[0].m = 5; single[0].eps = 0.2; single[0].tau = INFINITY;
  single[1].x = x; single[1].y = y; single[1].n = N; single[1].m = M; single[1].eps = 0.05; single[1].tau = INFINITY;
  single[1].plan = plan; single[1].f = f; single[1].g = g;
  must(engram_sinkhorn_f32(backend, single, 2, &o), "engram_sinkhorn_f32");
  check(single[1].converged == 1, "f32 converged", single[1].converged, 1);
  double largest = 0;
  for (int k = 0; k < N * M; ++k) largest = fmax(largest, plan_d[k]);
  for (int k = 0; k < N * M; ++k)
    check(fabs(plan[k] - plan_d[k]) <= 1e-4 * largest, "f32 plan = double plan to float accuracy", plan[k], plan_d[k]);
  check(fabs(single[1].transport_cost - reference.transport_cost) <= 1e-5 * reference.transport_cost,
        "f32 transport cost", single[1].transport_cost, reference.transport_cost);
  engram_sinkhorn_problem_f32 alone = single[1];
  alone.plan = plan_alone; alone.f = NULL; alone.g = NULL;
  must(engram_sinkhorn_f32(backend, &alone, 1, &o), "engram_sinkhorn_f32(alone)");
  check(memcmp(plan, plan_alone, sizeof plan) == 0, "f32 batch = alone", plan[0], plan_alone[0]);
  /* Divergence in float against double. */
  double want = 0, got = 0;
  engram_sinkhorn_problem dd = reference;
  dd.plan = NULL;
  must(engram_sinkhorn_divergence(backend, &dd, 1, &o, &want), "engram_sinkhorn_divergence(double)");
  single[1].plan = NULL; single[1].f = NULL; single[1].g = NULL;
  must(engram_sinkhorn_divergence_f32(backend, &single[1], 1, &o, &got), "engram_sinkhorn_divergence_f32");
  check(fabs(got - want) <= 1e-4 * fabs(want), "f32 divergence", got, want);
  /* Bad input is refused naming the field, as in double. */
  single[0].eps = NAN;
  check(engram_sinkhorn_f32(backend, single, 1, &o) == ENGRAM_BAD_INPUT, "f32 NaN eps refused", 0, ENGRAM_BAD_INPUT);
  check(strstr(engram_last_error(), "problems[0].eps") != NULL, "f32 error names problems[0].eps", 0, 0);
}

/* softmax(q k^T / sqrt(D)) v of one head over one sequence, in double. */
static void attention_oracle(const float* q, const float* k, const float* v, int tq, int tk, int d, int causal,
                             double* o) {
  for (int i = 0; i < tq; ++i) {
    double top = -INFINITY, w[64], total = 0;
    int seen = causal ? (i + 1 < tk ? i + 1 : tk) : tk;
    for (int j = 0; j < seen; ++j) {
      double s = 0;
      for (int c = 0; c < d; ++c) s += (double)q[i * d + c] * k[j * d + c];
      w[j] = s / sqrt((double)d);
      if (w[j] > top) top = w[j];
    }
    for (int j = 0; j < seen; ++j) total += (w[j] = exp(w[j] - top));
    for (int c = 0; c < d; ++c) {
      double acc = 0;
      for (int j = 0; j < seen; ++j) acc += w[j] / total * v[j * d + c];
      o[i * d + c] = acc;
    }
  }
}

static void test_attention(engram_backend* backend) {
  enum { TQ = 13, TK = 20, DIM = 16 };
  unsigned seed = 7;
  float q[TQ * DIM], k[TK * DIM], v[TK * DIM], o[TQ * DIM], lse[TQ], dout[TQ * DIM], dq[TQ * DIM], dk[TK * DIM],
      dv[TK * DIM];
  for (int i = 0; i < TQ * DIM; ++i) q[i] = (float)(uniform(&seed) - 0.5), dout[i] = (float)(uniform(&seed) - 0.5);
  for (int i = 0; i < TK * DIM; ++i) k[i] = (float)(uniform(&seed) - 0.5), v[i] = (float)(uniform(&seed) - 0.5);
  int64_t q_off[2] = {0, TQ}, k_off[2] = {0, TK};
  engram_attention_shape shape;
  memset(&shape, 0, sizeof shape);
  shape.total_q = TQ; shape.total_k = TK; shape.heads = 1; shape.head_dim = DIM;
  shape.q_offsets = q_off; shape.k_offsets = k_off; shape.sequences = 1; shape.causal = 1;
  must(engram_attention_forward(backend, &shape, q, k, v, o, lse), "engram_attention_forward");
  double want[TQ * DIM];
  attention_oracle(q, k, v, TQ, TK, DIM, 1, want);
  for (int i = 0; i < TQ * DIM; ++i) check(fabs(o[i] - want[i]) <= 1e-5, "attention o", o[i], want[i]);
  must(engram_attention_backward(backend, &shape, q, k, v, o, lse, dout, dq, dk, dv), "engram_attention_backward");
  /* d/dq[t] of sum(dout * o) by central differences of the oracle (double). */
  for (int t = 0; t < TQ * DIM; t += 37) {
    float up[TQ * DIM], down[TQ * DIM];
    double o_up[TQ * DIM], o_down[TQ * DIM], s = 0;
    memcpy(up, q, sizeof up);
    memcpy(down, q, sizeof down);
    up[t] += 1e-2f;
    down[t] -= 1e-2f;
    attention_oracle(up, k, v, TQ, TK, DIM, 1, o_up);
    attention_oracle(down, k, v, TQ, TK, DIM, 1, o_down);
    for (int i = 0; i < TQ * DIM; ++i) s += dout[i] * (o_up[i] - o_down[i]);
    double numeric = s / ((double)up[t] - (double)down[t]);
    check(fabs(dq[t] - numeric) <= 2e-4, "attention dq", dq[t], numeric);
  }
  shape.head_dim = 8;
  check(engram_attention_forward(backend, &shape, q, k, v, o, lse) == ENGRAM_BAD_INPUT, "head_dim 8 refused", 0, 2);
  check(strstr(engram_last_error(), "head_dim") != NULL, "message names head_dim", 0, 0);
}

static void test_kcap(engram_backend* backend) {
  enum { B = 3, N = 50, K = 7 };
  unsigned seed = 3;
  int64_t inputs[B * N];
  uint32_t winners[B * K];
  for (int i = 0; i < B * N; ++i) inputs[i] = (int64_t)(uniform(&seed) * 6) - 2; /* many ties */
  must(engram_kcap(backend, inputs, B, N, K, winners), "engram_kcap");
  for (int r = 0; r < B; ++r) {
    /* Oracle: neuron i wins iff fewer than K neurons beat it (larger, or equal with a lower index). */
    int count = 0;
    for (int i = 0; i < N; ++i) {
      int beaten = 0;
      for (int j = 0; j < N; ++j) {
        int64_t vi = inputs[r * N + i], vj = inputs[r * N + j];
        beaten += vj > vi || (vj == vi && j < i);
      }
      if (beaten < K) {
        check(count < K && winners[r * K + count] == (uint32_t)i, "kcap winner", count < K ? (double)winners[r * K + count] : -1.0, i);
        ++count;
      }
    }
    check(count == K, "kcap count", count, K);
  }
  check(engram_kcap(backend, inputs, B, N, N + 1, winners) == ENGRAM_BAD_INPUT, "k > n refused", 0, 2);
}

int main(void) {
  engram_backend* backend = NULL;
  must(engram_backend_create("cpu", &backend), "engram_backend_create");
  test_sinkhorn(backend);
  test_sinkhorn_f32(backend);
  test_attention(backend);
  test_kcap(backend);
  engram_backend_destroy(backend);
  if (failures == 0) printf("engram C array API: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
