/* engram_arrays.h: engram's kernels on caller-owned buffers (C11 and C++), the C twin of the
 * Python array API (engram.ot.sinkhorn, engram.nn.attention, engram.kcap). Included by engram.h.
 * Inputs are read, outputs written, through the caller's pointers (host memory, row-major);
 * the engine copies them to the backend and back. Every call returns an engram_status and
 * leaves the message in engram_last_error() on failure; a failed call writes no output.
 *
 *   engram_sinkhorn_problem p = {0};
 *   p.x = xs; p.y = ys; p.n = 100; p.m = 80; p.eps = 0.01; p.tau = INFINITY;
 *   p.f = f; p.g = g;                                   // caller-owned [n], [m]
 *   engram_sinkhorn_options o;
 *   engram_sinkhorn_options_default(&o);  o.dim = 3;
 *   if (engram_sinkhorn(backend, &p, 1, &o) != ENGRAM_OK) fprintf(stderr, "%s\n", engram_last_error());
 *   printf("<P, C> = %g after %d iterations\n", p.transport_cost, p.iterations);
 */
#ifndef ENGRAM_ENGRAM_ARRAYS_H
#define ENGRAM_ENGRAM_ARRAYS_H

#ifndef ENGRAM_ENGRAM_H
#error "include engram/engram.h, which includes this header"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Entropic OT (docs/ot.md): min <P, C> + eps KL(P | a b^T) [+ tau KL marginals] ---- */

typedef enum engram_cost {
  ENGRAM_COST_SQ_EUCLIDEAN = 1, /* |x - y|^2 from the points */
  ENGRAM_COST_P_NORM = 2,       /* |x - y|^p from the points */
  ENGRAM_COST_STORED = 0        /* the given [n, m] matrix `cost` */
} engram_cost;

typedef struct engram_sinkhorn_options {
  engram_cost cost;
  double p;             /* exponent of ENGRAM_COST_P_NORM */
  int32_t dim;          /* point dimension (point costs) */
  double tol;           /* L1 marginal error at which a problem stops */
  int32_t max_iter;     /* per problem, annealing included */
  double eps_decay;     /* eps-scaling factor per iteration; 1 turns annealing off */
  double eps_start;     /* first eps; 0: the problem's cost scale */
  int32_t check_every;  /* iterations between the host's status checks */
} engram_sinkhorn_options;

/* Defaults: squared Euclidean, p 2, dim 0 (set it), tol 1e-9, max_iter 10000, eps_decay 0.5,
 * eps_start 0, check_every 10. */
ENGRAM_API void engram_sinkhorn_options_default(engram_sinkhorn_options* options);

typedef struct engram_sinkhorn_problem {
  /* Inputs. */
  const double* x;    /* [n, dim] points (point costs), else NULL */
  const double* y;    /* [m, dim] points (point costs), else NULL */
  const double* cost; /* [n, m] (ENGRAM_COST_STORED), else NULL */
  int64_t n, m;
  const double* a;    /* [n] weights, or NULL for uniform 1/n */
  const double* b;    /* [m] weights, or NULL for uniform 1/m */
  double eps;         /* entropic regularisation, in cost units (POT's reg) */
  double tau;         /* KL marginal penalty; INFINITY for balanced OT */
  /* Outputs: arrays are written when not NULL. */
  double* f;          /* [n] source potential */
  double* g;          /* [m] target potential */
  double* plan;       /* [n, m] */
  double* gradient;   /* [n, dim] d value / d x (point costs) */
  double transport_cost; /* <P, C> */
  double value;          /* entropic OT value (dual objective) */
  double mass;           /* total mass of P */
  double error;          /* final marginal error */
  int32_t iterations;
  int32_t converged;     /* 1 when the error reached tol */
} engram_sinkhorn_problem;

/* Solves `count` problems as one ragged batch (each problem's results are the same bits as
 * when solved alone), in double precision. */
ENGRAM_API engram_status engram_sinkhorn(engram_backend* backend, engram_sinkhorn_problem* problems, size_t count,
                                         const engram_sinkhorn_options* options);

/* Debiased Sinkhorn divergence of each problem, S = OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2, written to
 * divergences[count]. OT is the entropic OT *value* (the problem's `value` field: the dual objective),
 * as in Feydy et al. 2019 and engram.ot.sinkhorn_divergence; POT's empirical_sinkhorn_divergence
 * combines transport costs <P, C> instead (docs/ot.md). Reads each problem's inputs (point costs
 * only: x, y, n, m, a, b, eps, tau), writes none of its outputs; the 3 * count problems are solved
 * as one batch. */
ENGRAM_API engram_status engram_sinkhorn_divergence(engram_backend* backend, const engram_sinkhorn_problem* problems,
                                                    size_t count, const engram_sinkhorn_options* options,
                                                    double* divergences);

/* The same in single precision: float arrays in and out, the solver's iterations in float (as
 * engram.ot.sinkhorn does for float32 inputs: half the memory traffic, about 1e-6 relative
 * accuracy); the scalar results stay double. Field meanings as in engram_sinkhorn_problem. */
typedef struct engram_sinkhorn_problem_f32 {
  const float* x;
  const float* y;
  const float* cost;
  int64_t n, m;
  const float* a;
  const float* b;
  double eps;
  double tau;
  float* f;
  float* g;
  float* plan;
  float* gradient;
  double transport_cost;
  double value;
  double mass;
  double error;
  int32_t iterations;
  int32_t converged;
} engram_sinkhorn_problem_f32;
ENGRAM_API engram_status engram_sinkhorn_f32(engram_backend* backend, engram_sinkhorn_problem_f32* problems,
                                             size_t count, const engram_sinkhorn_options* options);
ENGRAM_API engram_status engram_sinkhorn_divergence_f32(engram_backend* backend,
                                                        const engram_sinkhorn_problem_f32* problems, size_t count,
                                                        const engram_sinkhorn_options* options, double* divergences);
/* ---- Attention: softmax(q k^T * scale) v per head, float32, flash-attn's packed layout ---- */

typedef struct engram_attention_shape {
  int64_t total_q, total_k; /* query and key rows over all sequences */
  int64_t heads, head_dim;  /* head_dim 16..128 */
  const int64_t* q_offsets; /* [sequences + 1]: sequence s owns query rows [q_offsets[s], q_offsets[s+1]) */
  const int64_t* k_offsets; /* [sequences + 1], likewise for key rows */
  int64_t sequences;
  int causal;               /* hide key j from query i of a sequence when j > i */
  const uint8_t* key_valid; /* [total_k], 0 hides a key; NULL: all visible */
  float scale;              /* 0: 1 / sqrt(head_dim) */
} engram_attention_shape;

/* q, o [total_q, heads, head_dim]; k, v [total_k, heads, head_dim]; lse [total_q, heads]. */
ENGRAM_API engram_status engram_attention_forward(engram_backend* backend, const engram_attention_shape* shape,
                                                  const float* q, const float* k, const float* v, float* o,
                                                  float* lse);
/* Gradients of sum(dout * o) from the forward pass's o and lse. */
ENGRAM_API engram_status engram_attention_backward(engram_backend* backend, const engram_attention_shape* shape,
                                                   const float* q, const float* k, const float* v, const float* o,
                                                   const float* lse, const float* dout, float* dq, float* dk,
                                                   float* dv);

/* ---- k-cap: per row of `inputs` [batch, n], the k largest (ties to the lower index), written
 * to winners [batch, k] in increasing index order. Inputs are int64 (brains' fixed point,
 * value * 2^32, or any integers). ---- */
ENGRAM_API engram_status engram_kcap(engram_backend* backend, const int64_t* inputs, int64_t batch, int64_t n,
                                     int64_t k, uint32_t* winners);

#ifdef __cplusplus
}
#endif

#endif /* ENGRAM_ENGRAM_ARRAYS_H */
