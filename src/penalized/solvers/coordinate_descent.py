"""Working-set proximal coordinate descent with Anderson acceleration.

The outer loop (here, in Python) computes the full gradient and the certificate, stops
when it is small enough, and otherwise picks a working set: the current support, the
unpenalized features, and the features that violate their optimality condition most.
The inner loop (compiled, :func:`._kernels.solve_subproblem`) runs coordinate-descent
epochs on the working set, extrapolated every few epochs (Anderson acceleration), until
the restricted problem's certificate falls below a fraction of the outer one.

Coordinates are centred when there is an intercept (see :mod:`._kernels`), so the
gradients below are taken along the centred directions.

Stopping rule (the same for every problem): ``certificate ≤ tol · L(0)``, where L(0) is
the loss of the null model (``w = 0``, best intercept) and the certificate is the sum of

- the Fenchel duality gap over the penalized coordinates, and
- ``Σ g_j² / (2 L_j)`` over the unpenalized coordinates and the intercept.

For the elastic net the gap is the smallest over several dual points, each feasible (so each
gap bounds the suboptimality): the current residual rescaled, the best one seen so far (first
the warm start's: on a path, the previous solution's), and the Anderson extrapolation of the
last linear predictors (dual extrapolation, Massias, Gramfort & Salmon 2018); see
``dual_extrapolation``.

Both terms are ≥ 0 and vanish exactly at the optimum. ``L(0)`` is one number for the whole
sample: where one sample dominates it (a Poisson count of 1e15), the objective is certified to
``tol`` times that number; a smaller ``tol`` certifies the rest. Where every coordinate's
optimality violation is below its gradient's rounding error (tiny λ), the certificate is the
stationarity measure (:func:`_certificate_at_rounding`). ``converged`` is exactly
``certificate ≤ threshold``: ``max_iter`` reached above it is never reported as converged.
For the squared error with only
the intercept unpenalized, the certificate is a rigorous upper bound on ``L(w) − L*``
(centred coordinates decouple the intercept exactly, and its term is then the exact
excess along it); with unpenalized features or the log-loss, the second term is a
first-order estimate of the excess in those coordinates. Non-convex penalties (MCP, SCAD)
have no dual: their certificate is ``Σ_j v_j² / (2 L_j)`` over every coordinate (``v_j`` its
optimality violation, :func:`._kernels.pen_violation`), zero exactly at a stationary point.
Boxes add their normal cone to every ``v_j`` and their conjugate to the gap.

The solver's choices (Gram mode, proximal Newton, working sets, Anderson, support steps,
screening, which certificate) are resolved once from the data fit's and the penalty's traits
into a :class:`SolverPlan`, returned with the result: ``print(result.plan)`` says what ran
and why. Group penalties go to the block solver (:mod:`.blocks`).
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

from .problem import LinearProblem
from .results import _ROUNDING_FLOOR, REFRESH_EPOCHS, SolverPlan, SolverResult

# Working sets pay off only when there are many features to leave out.
WS_MIN_FEATURES = 100
# Largest support solved exactly (a dense |S|×|S| or n×n system).
SUPPORT_MAX = 2000
SUPPORT_MEMORY = 2 * 10**7  # entries of the n×|S| matrix it gathers
# Epochs per sub-problem call at most (the outer loop then refreshes X̃w and re-checks).
INNER_EPOCHS = 500
# Anderson acceleration by default only where exact support steps cannot run.
ANDERSON_BELOW = 100
# Sub-problems covering the working set are solved to this fraction of the threshold (the outer
# check over every feature then usually passes at once). Near 1: the gap of a rescaled dual point
# falls slowly near interpolation (it is first order in the error, the suboptimality second), so
# every factor below 1 costs many epochs there. Proximal Newton keeps a lower one: its
# convergence is quadratic, so it costs at most a step (and the log-loss's rounding level, which
# a Newton step that is not accepted reveals, is reached from there).
# Tolerances below TIGHT_TOL (reference solves, where two fits are compared to 1e-7) keep
# NEWTON_INNER_FLOOR's margin: there the cost is small and closeness to the optimum is the point.
INNER_FLOOR = 0.9
NEWTON_INNER_FLOOR = 0.3
TIGHT_TOL = 1e-7
# Dual extrapolation: predictors kept by the inner solves, minus one (0: off; see _solve).
DUAL_K = 5
# Gram mode on a single fit: few features, many more samples.
GRAM_MAX_FEATURES = 50
GRAM_MIN_RATIO = 20



def kernel_penalty(penalty, n_features, bounds=None):
    """The penalty as the kernels take it (a :class:`~penalized.penalties.KernelPenalty`);
    ``None`` is no penalty (unpenalized coordinates, possibly boxed)."""
    if penalty is None:
        from ..penalties import L1L2

        return L1L2(0.0, 0.0).kernel(n_features, bounds)
    return penalty.kernel(n_features, bounds)


def make_plan(problem, kp, *, working_set="auto", anderson_k="auto", screening=False, support_solve=True,
              newton="auto", gram="auto"):
    """Resolve the solver's automatic choices from the traits of the data fit and the penalty."""
    n, p = problem.n_samples, problem.n_features
    datafit = problem.datafit
    squared = datafit.code == problem.kernels.SQUARED_ERROR
    reasons = []
    if not datafit.bounded_curvature:
        if newton is False:
            raise ValueError(f"newton=False is not possible with the {datafit.name} data fit: its curvature "
                             "is unbounded, coordinate steps need a line search (proximal Newton).")
        use_newton = True
        reasons.append(f"proximal Newton: the {datafit.name} curvature is unbounded")
    elif newton == "auto":
        # proximal Newton with a non-convex penalty needs damped models (a proximal term) to
        # stay local, which makes it slow where the curvature is small: coordinate steps with
        # Lipschitz constants converge faster there
        use_newton = not squared and kp.convex
        if not squared and not kp.convex:
            reasons.append("coordinate steps with Lipschitz constants: the penalty is not convex")
    else:
        use_newton = bool(newton) and not squared
    support_ok = kp.is_elastic_net and kp.sign_bounds_only
    if support_solve and not support_ok:
        reasons.append("no exact support steps: they need the elastic net with bounds at 0 only")
    support_max = min(SUPPORT_MAX, SUPPORT_MEMORY // max(n, 1)) if (support_solve and support_ok) else 0
    # Anderson by default, but with exact support steps only on supports too large for them
    # (they make it redundant: docs/performance.md)
    anderson_auto = anderson_k == "auto" and support_max >= ANDERSON_BELOW
    if anderson_k == "auto":
        anderson_k = 5
    unpenalized = kp.free & (problem.L > 0)
    screen = (bool(screening) and kp.is_elastic_net and not kp.bounded and not unpenalized.any()
              and bool(np.any(kp.params[0] > 0)) and (squared or not problem.fit_intercept))
    if screening and not screen:
        reasons.append("Gap Safe screening off: it needs the elastic net without bounds or unpenalized "
                       "features (and no intercept beyond the squared error)")
    use_gram = squared and not problem.kernel_X[4] and (
        (getattr(problem, "_gram", None) is not None or gram_pays_off(n, p)) if gram == "auto"
        else bool(gram))
    use_ws = (p > WS_MIN_FEATURES) if working_set == "auto" else bool(working_set)
    settle = use_ws and working_set == "auto" and n >= p and squared
    method = ("proximal Newton on working sets" if use_newton else "coordinate descent")
    if use_gram:
        method = "coordinate descent on the Gram matrix, then " + method
    return SolverPlan(
        datafit=datafit.name or type(datafit).__name__, penalty=kp.name, method=method,
        working_sets=("settled at the first check" if settle else ("on" if use_ws else "off")),
        gram=bool(use_gram), anderson_k=int(anderson_k),
        anderson_beyond_support_steps=bool(anderson_auto),
        support_steps=support_max > 0, screening=bool(screen),
        certificate="duality gap" if kp.convex else "stationarity (non-convex penalty)",
        reasons=tuple(reasons)), dict(use_newton=use_newton, support_max=support_max, anderson_k=int(anderson_k),
                                      anderson_auto=bool(anderson_auto),
                                      screen=screen, use_gram=use_gram, use_ws=use_ws, settle=settle)


def _solve(problem: LinearProblem, penalty, *, coef_init=None, intercept_init=None, tol=1e-4,
          max_iter=1000, working_set="auto", anderson_k="auto", check_every=5, min_ws_size=50,
          screening=False, support_solve=True, initial_working_set=None, support_cost=1.0,
          face_solves=4, newton="auto", gram="auto", newton_forcing=0.3, inner_ratio=0.3, check_balance=1.0,
          bounds=None, continuation="auto", dual_extrapolation=DUAL_K, thresh=0.0):
    """Minimise ``L_data(w, b) + penalty(w)`` on ``problem`` (subject to ``bounds``).

    Parameters
    ----------
    problem : LinearProblem
    penalty : a penalty object (L1, L2, L1L2, MCP, SCAD, GroupL1, sums) or None
    bounds : (lower, upper) arrays of length p, optional
        A box on the coefficients (see :func:`penalized.penalties.check_bounds`).
    continuation : bool or "auto"
        Non-convex penalties have several stationary points; started cold, the solve first
        follows a short path of :data:`CONTINUATION_STEPS` strengths from the penalty's λ_max
        down to its own (warm starts, as ncvreg's paths do), which reaches lower stationary
        points than a start from zero. ``"auto"``: for non-convex penalties without ``coef_init``.
    coef_init, intercept_init : optional warm start (default: zeros and the null intercept).
    tol : float
        Relative tolerance: stop when the certificate is ≤ ``tol · L(0)``.
    max_iter : int
        Maximum number of coordinate-descent epochs (passes over the working set).
    working_set : bool or "auto"
        Solve growing sub-problems on the most violating features instead of sweeping all
        features every epoch. ``"auto"`` (default) uses them when there are more than
        :data:`WS_MIN_FEATURES` features, except with ``n ≥ p`` when half of the features
        violate their optimality conditions at the first check (the support can then grow
        to most features, and working sets would only add full checks).
    anderson_k : int or "auto"
        Extrapolate every ``anderson_k + 1`` epochs from the last iterates (0: never).
        ``"auto"``: 5, but where exact support steps run (on up to at least
        :data:`ANDERSON_BELOW` features) only while the support is larger than they allow
        (below that they make it redundant: see docs/performance.md).
    screening : bool
        Gap Safe screening: discard features proven to be zero at the optimum. Off by
        default: with working sets it does not pay on the benchmark (docs/performance.md).
    support_solve : bool
        Squared error: solve the quadratic on a stable support exactly (a Newton step).
    initial_working_set : array of int or bool, optional
        Features likely to matter (e.g. the strong-rule set of a path step, see
        :func:`strong_rule_set`): gradients and working sets are restricted to them (and
        to the non-zero coefficients) until the solution of that restricted problem is
        checked on every feature; violators join and the solve goes on.
    newton : bool or "auto"
        Log-loss: proximal Newton steps on the working set (default for the log-loss)
        instead of coordinate descent with Lipschitz steps.
    support_cost, face_solves : float, int
        Tuning of the exact support steps: the factor of their cost estimate in the rule
        that decides when one is worth trying, and the most Newton solves per step.
    newton_forcing : float
        Proximal Newton: each quadratic model is solved to this fraction of the current
        optimality violation.
    inner_ratio, check_every, min_ws_size : float, int, int
        Working sets: sub-problems are solved to ``inner_ratio`` × the current
        certificate (and at most to :data:`INNER_FLOOR` × the threshold, :data:`NEWTON_INNER_FLOOR`
        with proximal Newton or ``tol <`` :data:`TIGHT_TOL`), checked at least every
        ``check_every`` epochs; the first working set has ``min_ws_size`` features.
    check_balance : float
        A sub-problem that meets its tolerance having read fewer column entries than
        ``check_balance`` × what the next check over every feature will read goes on
        towards the final tolerance until it has read that many (0: never). Where the checks
        dominate (small working sets of a large design), each then buys more progress.
    gram : bool or "auto"
        Squared error on dense ``X``: coordinate descent on the Gram matrix ``X̃ᵀAX̃``
        (O(p) per step instead of O(n)), computed once per problem. ``"auto"`` uses it
        when it is already computed or when :func:`gram_pays_off`.
    dual_extrapolation : int
        Elastic net: the duality gap also tries the best dual point seen (first the warm
        start's) and the dual point of the Anderson extrapolation of the last
        ``dual_extrapolation + 1`` linear predictors of the inner solves (Massias, Gramfort &
        Salmon, "Celer", ICML 2018), and keeps the smallest gap: as valid (every feasible dual
        point bounds the suboptimality), and closer to the suboptimality where the rescaled
        residual is loose (near interpolation). 0: neither.
    thresh : float
        glmnet's convergence rule on top of the certificate (0: off): the solve stops only once
        the certificate is ≤ ``tol·L(0)`` *and* the last coordinate-descent epoch moved the
        coefficients by ``Σ_j L_j Δ_j² ≤ thresh·L(0)`` (glmnet's ``thresh``, with the sum over
        the working set where glmnet takes the largest term). With a loose ``tol`` the
        certificate still bounds the suboptimality; this rule keeps the solution as close to the
        optimum as glmnet's where the duality gap certifies late (near interpolation).
        With proximal Newton the movement is that of the last accepted step (``t²·Σ L_j δ_j²``).
        Paths on the covariance method (:mod:`penalized.solvers.gram_path`, tall designs) ignore it.

    Returns
    -------
    SolverResult
        With ``plan``, the :class:`SolverPlan` that ran.

    BLAS runs single-threaded during the solve (see :func:`solve`'s source).
    """
    n, p = problem.n_samples, problem.n_features
    kp = kernel_penalty(penalty, p, bounds)
    if not (isinstance(check_balance, (int, float)) and np.isfinite(check_balance) and check_balance >= 0):
        raise ValueError(f"check_balance must be a finite number >= 0, got {check_balance!r}")
    if problem.n_outputs > 1 and kp.groups is None and problem.datafit.code == problem.kernels.SQUARED_ERROR:
        return _solve_columns(problem, penalty, bounds, coef_init=coef_init, intercept_init=intercept_init,
                              tol=tol, max_iter=max_iter, working_set=working_set, anderson_k=anderson_k,
                              check_every=check_every, min_ws_size=min_ws_size, screening=screening,
                              support_solve=support_solve, support_cost=support_cost, face_solves=face_solves,
                              newton=newton, gram=gram, newton_forcing=newton_forcing, inner_ratio=inner_ratio,
                              check_balance=check_balance, dual_extrapolation=dual_extrapolation)
    if kp.groups is not None or problem.n_outputs > 1:
        from . import multinomial
        from .blocks import solve_blocks

        options = dict(coef_init=coef_init, intercept_init=intercept_init, tol=tol, max_iter=max_iter,
                       working_set=working_set, anderson_k=anderson_k, check_every=check_every,
                       min_ws_size=min_ws_size, inner_ratio=inner_ratio)
        if newton is not False and multinomial.applies(problem, kp):  # block steps, then Newton if they stall
            return multinomial.solve_hybrid(problem, kp, solve_blocks, solve, **options)
        if not problem.datafit.bounded_curvature:  # Poisson: proximal Newton around the block steps
            from .newton_blocks import solve_newton_blocks

            return solve_newton_blocks(problem, kp, solve_blocks, coef_init=coef_init, intercept_init=intercept_init,
                                       tol=tol, max_iter=max_iter)
        return solve_blocks(problem, kp, **options)
    plan, choice = make_plan(problem, kp, working_set=working_set, anderson_k=anderson_k, screening=screening,
                             support_solve=support_solve, newton=newton, gram=gram)
    continuation_epochs = 0
    if (continuation == "auto" and not kp.convex and coef_init is None) or continuation is True:
        start = _continuation(problem, penalty, bounds, tol, max_iter, working_set=working_set, anderson_k=anderson_k,
                              check_every=check_every, min_ws_size=min_ws_size, newton=newton, gram=gram)
        if start is not None:
            coef_init, intercept_init, continuation_epochs = start
            plan = SolverPlan(**{**plan.__dict__, "reasons": plan.reasons + (
                f"continuation from λ_max in {CONTINUATION_STEPS} steps (non-convex: ncvreg's warm starts)",)})
    pen, P = kp.code, kp.params
    code, kX, y, a, L, mu = (problem.datafit.code, problem.kernel_X, problem.y, problem.a,
                             problem.L, problem.mu)
    k = problem.kernels
    squared = code == k.SQUARED_ERROR

    w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
    if kp.bounded:  # a warm start from another problem may lie outside the box
        np.clip(w, kp.lower, kp.upper, out=w)
    if problem.fit_intercept:
        b = problem.null_intercept if intercept_init is None else float(intercept_init)
    else:
        b = 0.0
    zx, b = problem.internal_state(w, b)

    scale = float(a @ (y * y))
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * scale)
    usable = L > 0
    unpenalized = usable & kp.free
    # Gap Safe screening needs a feasible dual point: no unpenalized feature, and an
    # intercept only where it can be made exactly optimal (the squared error) (make_plan).
    screen = choice["screen"]
    # features left out of the gradient and the working sets: proven zero (Gap Safe), or
    # guessed inactive (a strong-rule set); a full check over all features ends the solve
    safe_out = np.zeros(p, dtype=bool)
    init = _as_mask(initial_working_set, p)
    guess_out = np.zeros(p, dtype=bool) if init is None else (
        usable & ~init & (w == 0) & ~unpenalized)
    active = usable & ~guess_out
    n_screened = 0
    use_ws = choice["use_ws"]
    # squared error, n ≥ p: the support may grow to every feature; when half of them violate their
    # optimality conditions at the first check, working sets would only add full checks
    settle_ws = choice["settle"]
    params = np.zeros(k.N_PARAMS)
    params[k.P_SUPPORT_COST] = support_cost
    params[k.P_FACE_SOLVES] = face_solves
    params[k.P_NEWTON_FORCING] = newton_forcing
    params[k.P_ANDERSON_AUTO] = float(choice["anderson_auto"])
    params[k.P_MODEL_ANDERSON] = float(choice["anderson_k"])
    floor = (NEWTON_INNER_FLOOR if choice["use_newton"] or tol < TIGHT_TOL else INNER_FLOOR) * threshold
    params[k.P_TOL_FLOOR] = floor
    params[k.P_DUAL_K] = float(_check_dual_k(dual_extrapolation))
    move_tol = _check_thresh(thresh) * problem.null_loss
    params[k.P_MOVE_TOL] = move_tol
    move_rule = move_tol > 0.0  # glmnet's rule
    moved_ok = not move_rule
    last_ws = None  # the last sub-problem's working set
    # the predictor of the best dual point seen (first the warm start's: on a path, the previous
    # solution's dual point, rescaled, is nearly optimal for the next λ)
    dual_points = pen == k.PEN_ENET and dual_extrapolation > 0
    dual_z = zx + b
    won = 0  # the last sub-problem's gap was dual_z's
    dual_grad = np.empty(p)
    dual_buf = np.empty(n)
    col_entries = np.diff(kX[3]).astype(np.float64) if kX[4] else np.full(p, float(n))
    use_newton = choice["use_newton"]
    support_max = choice["support_max"]
    anderson_k = choice["anderson_k"]
    all_features = np.arange(p)
    grad = np.zeros(p)
    buf = np.empty(n)
    scores = np.empty(p)
    epochs = continuation_epochs
    support_steps = 0
    full_check = False
    stalled = 0
    use_gram = choice["use_gram"]
    if use_gram:
        G, c, yy = problem.gram()
        gw = G @ w
        inner_epochs, _, _, steps = k.gram_solve(G, c, yy, w, gw, pen, P, 0.3 * threshold, max_iter,
                                                 min(SUPPORT_MAX, p) if support_max else 0, params)
        epochs += max(inner_epochs, 1)
        support_steps += steps
        if problem.fit_intercept:
            b = problem.null_intercept  # b' = Σ a y: exact in centred coordinates
    refreshed_at = 0
    if use_gram:  # the Gram solve moved w, not X̃w: every later check and epoch reads X̃w
        problem.refresh(w, zx)
        refreshed_at = epochs
    last_certificate = np.inf
    at_rounding = False
    rounding_certificate = np.inf
    while True:
        if epochs - refreshed_at >= REFRESH_EPOCHS:  # incremental updates of X̃w drift
            problem.refresh(w, zx)
            refreshed_at = epochs
        if squared and problem.fit_intercept:
            b = k.best_squared_intercept(y, a, zx)
        excluded = n_screened > 0 or guess_out.any()
        idx = all_features if (full_check or not excluded) else np.flatnonzero(active)
        grad_b = k.gradient(code, *kX, y, a, zx, b, mu, idx, grad, buf)
        gap, stationarity = k.duality_gap(code, y, a, zx, b, w, grad, grad_b, pen, P, L, idx,
                                          problem.fit_intercept)
        screen_gap = gap  # Gap Safe spheres are centred on this gap's own dual point
        # the kept dual point over every feature, where the last sub-problem's gap was its
        # (else it is the current point's, or lost to it on the working set)
        if dual_points and won and gap + stationarity > threshold:
            gap = k.best_dual_gap(code, *kX, y, a, zx, b, w, P, L, mu, idx, gap, threshold - stationarity, dual_z,
                                  dual_grad, dual_buf)
        certificate = gap + stationarity
        if not np.isfinite(certificate):
            raise FloatingPointError(
                "the solver produced non-finite values; rescale X and y (e.g. StandardScaler) "
                "or increase the penalty."
            )
        giving_up = epochs >= max_iter or stalled >= 2
        if certificate > threshold and (certificate > 0.5 * last_certificate or giving_up) and not excluded:
            rounding_certificate = _certificate_at_rounding(k, w, grad, pen, P, L, buf, a, problem, scores,
                                                            stationarity, unpenalized)
            at_rounding = rounding_certificate <= threshold
        last_certificate = certificate
        certified = certificate <= threshold and moved_ok
        if certified and move_rule:  # glmnet's rule also needs every violator in the last working set
            certified = _violators_covered(k, w, grad, pen, P, L, scores, idx, last_ws)
            moved_ok = certified
        if (certified or at_rounding) and refreshed_at != epochs:
            problem.refresh(w, zx)  # the verdict is on X̃w recomputed from w
            refreshed_at = epochs
            at_rounding = False
            continue
        if certified or at_rounding or epochs >= max_iter or stalled >= 2:
            if excluded and not full_check:  # the certificate of the whole problem decides
                full_check = True
                continue
            break
        if full_check:  # features left out violate their conditions: take them back
            k.violations(w, grad, pen, P, L, scores)
            violators = guess_out & (scores > 0)
            if violators.any():
                guess_out &= ~violators
            else:  # Gap Safe screening left a violation behind (rounding): go on without it
                guess_out[:] = False
                safe_out[:] = False
                n_screened, screen = 0, False
            active = usable & ~safe_out & ~guess_out
            full_check = False
        if screen:
            before = active.copy()
            n_screened += k.gap_safe_screen(grad, screen_gap, w, P, L, active, idx)
            safe_out |= before & ~active
        if settle_ws:
            settle_ws = False
            k.violations(w, grad, pen, P, L, scores)
            use_ws = 2 * int(np.count_nonzero(scores[active] > 0)) < int(active.sum())
        if use_ws:
            ws = _working_set(k, w, grad, pen, P, L, active, unpenalized, scores, min_ws_size)
        else:
            ws = np.flatnonzero(active)
        last_ws = ws
        # a working set covering most features: solve it to the end (the outer loop's
        # checks would only cost full gradients)
        partial = use_ws and 4 * ws.shape[0] < 3 * int(active.sum())
        inner_tol = max(inner_ratio * certificate, floor) if partial else floor
        # what the next check over idx will read: its columns, and a few passes over p and n
        params[k.P_CHECK_COST] = check_balance * (
            float(col_entries.sum() if idx is all_features else col_entries[idx].sum()) + 10.0 * idx.shape[0] + 4.0 * n)
        if use_newton:
            b, inner_epochs, sub_gap, sub_stationarity, steps, won = k.solve_subproblem_newton(
                code, *kX, y, a, zx, b, w, ws, L, pen, P, mu, problem.fit_intercept, inner_tol,
                min(max_iter - epochs, INNER_EPOCHS), grad, support_max, params, dual_z)
            # no Newton step accepted twice in a row: the rounding level is reached
            stalled = stalled + 1 if steps == 0 else 0
            moved_ok = not move_rule or params[k.P_LAST_MOVE] <= move_tol
        else:
            b, inner_epochs, sub_gap, sub_stationarity, steps, won = k.solve_subproblem(
                code, *kX, y, a, zx, b, w, ws, L, pen, P, mu, problem.fit_intercept,
                inner_tol, min(max_iter - epochs, INNER_EPOCHS), anderson_k, check_every, grad, support_max,
                params, dual_z)
            moved_ok = not move_rule or params[k.P_LAST_MOVE] <= move_tol
        epochs += max(inner_epochs, 1)
        support_steps += steps
        if sub_gap + sub_stationarity <= threshold:  # the next check is likely the verdict: on X̃w from w
            problem.refresh(w, zx)
            refreshed_at = epochs

    objective = k.datafit_value(code, y, a, zx, b) + k.penalty_value(w, pen, P, all_features)
    if refreshed_at == epochs:  # zx is X̃w recomputed: the next warm start from w reuses it
        problem.remember(w, zx)
    complete = full_check or not excluded  # grad holds every feature's derivative
    if at_rounding and certificate > threshold:  # the duality gap cannot certify here: stationarity does
        certificate = rounding_certificate
        plan = SolverPlan(**{**plan.__dict__, "reasons": plan.reasons + (
            "certified by stationarity at the rounding level: every optimality violation is below its "
            "gradient's rounding error, where the rescaled dual point of the duality gap cannot certify",)})
    return SolverResult(coef=w, intercept=problem.intercept_from_internal(w, b),
                        certificate=float(certificate),
                        threshold=float(threshold), n_iter=int(epochs),
                        converged=bool(certificate <= threshold), objective=float(objective),
                        n_screened=int(n_screened), support_steps=int(support_steps),
                        gradient=grad if complete else None, plan=plan)


CONTINUATION_STEPS = 5


def _continuation(problem, penalty, bounds, tol, max_iter, **options):
    """``(w, b, epochs)`` at the penalty's own strength's neighbour on a geometric path from
    λ_max, or None when λ_max is below it (the solution is zero)."""
    p = problem.n_features
    grad, _ = problem.gradient(np.zeros(p), problem.null_intercept if problem.fit_intercept else 0.0)
    if bounds is not None:  # one-sided conditions at zero (see path.gradient_at_zero)
        grad = np.where((bounds[0] == 0) & (grad > 0), 0.0, np.where((bounds[1] == 0) & (grad < 0), 0.0, grad))
    levels = penalty.zero_levels(grad)
    finite = np.isfinite(levels)
    lam = penalty.unit_strength()
    if not finite.any() or lam <= 0 or np.max(levels[finite]) <= lam:
        return None
    factors = np.geomspace(np.max(levels[finite]) / lam, 1.0, CONTINUATION_STEPS + 1)[1:-1]
    w, b, epochs = None, None, 0
    for f in factors:
        res = _solve(problem, penalty.scaled(f), coef_init=w, intercept_init=b, tol=max(tol, 1e-6),
                     max_iter=max_iter, bounds=bounds, continuation=False, **options)
        w, b, epochs = res.coef, res.intercept, epochs + res.n_iter
    return w, b, epochs


def _solve_columns(problem, penalty, bounds, *, coef_init=None, intercept_init=None, **options):
    """Several least-squares targets with a separable penalty decouple: one scalar solve per
    output (each with its own plan: Gram mode, support steps, bounds, MCP…)."""
    K, p = problem.n_outputs, problem.n_features
    coef0 = None if coef_init is None else np.reshape(coef_init, (K, p))
    b0 = None if intercept_init is None else np.broadcast_to(np.asarray(intercept_init, dtype=np.float64), (K,))
    results = []
    for k in range(K):
        column = LinearProblem.build(problem.X, problem.y[:, k], problem.datafit, problem.a, problem.fit_intercept,
                                     kernels=problem.kernels.mode)
        results.append(_solve(column, penalty, coef_init=None if coef0 is None else coef0[k],
                              intercept_init=None if b0 is None else b0[k], bounds=bounds, **options))
    first = results[0].plan
    plan = SolverPlan(**{**first.__dict__, "reasons": first.reasons + (f"one solve per output ({K})",)})
    return SolverResult(coef=np.array([r.coef for r in results]), intercept=np.array([r.intercept for r in results]),
                        certificate=float(sum(r.certificate for r in results)),
                        threshold=float(sum(r.threshold for r in results)), n_iter=int(sum(r.n_iter for r in results)),
                        converged=all(r.converged for r in results),
                        objective=float(sum(r.objective for r in results)), plan=plan)


def _certificate_at_rounding(k, w, grad, pen, P, L, buf, a, problem, scores, stationarity, unpenalized):
    """The stationarity certificate ``Σ_j v_j²/(2L_j)`` (+ the unpenalized terms) where every
    coordinate's optimality violation ``v_j`` is below the rounding error of its gradient; ``inf``
    where one is not.

    At tiny λ the duality gap of the rescaled dual point is about ``rss·(KKT error / λ)²``
    and cannot certify a solution that is exact to working precision; the first-order
    stationarity measure (the one used for unpenalized coordinates and non-convex penalties)
    can. The gradient ``g_j = Σ_i x̃_ij·buf_i`` (``buf_i = a_i ℓ'_i``) carries a rounding error of
    at most about ``√n·eps·‖√a ∘ x̃_j‖·(‖buf/√a‖ + c·Σ_k |w_k|·‖√a ∘ x̃_k‖)`` (``c`` the curvature
    scale: ``buf`` is rounded at the size of the terms of ``X̃w``); violations below 16 times that
    are noise. The
    bound is per column (a column 10⁶ times larger does not excuse the others' violations).
    """
    k.violations(w, grad, pen, P, L, scores)
    usable = L > 0
    if not usable.any() or not np.all(np.isfinite(L[usable])):
        return np.inf
    scale = problem.datafit.lipschitz_scale(problem.y, a)
    cols = np.sqrt(L[usable] / scale)
    positive = a > 0
    resid = np.sqrt(np.sum(buf[positive] ** 2 / a[positive]))
    # buf itself is rounded at the size of the terms of z = X̃w: ‖Σ_k |x̃_k w_k|‖ ≤ Σ_k |w_k|·‖x̃_k‖
    terms = scale * float(np.abs(w[usable]) @ cols)
    floor = 16.0 * np.finfo(np.float64).eps * np.sqrt(a.shape[0]) * cols * (resid + terms)
    v = scores[usable]
    if not np.all(v <= floor):
        return np.inf
    # ``stationarity`` already holds the unpenalized coordinates' and the intercept's terms
    counted = ~unpenalized[usable]
    return float(np.sum(v[counted] ** 2 / (2.0 * L[usable][counted])) + stationarity)


def strong_rule_set(gradient, l1_new, l1_prev):
    """Sequential strong rule (Tibshirani et al. 2012): the features likely active at a new λ.

    From the gradient of ``L_data`` at the solution for the previous strengths
    ``l1_prev``, keeps feature ``j`` when ``|g_j| ≥ 2·l1_new_j − l1_prev_j`` (always
    when ``l1_new_j = 0``). Pass the mask as ``solve(..., initial_working_set=mask)``:
    gradients and working sets are restricted to it until a final check over every
    feature, so a wrong guess costs time, never correctness. (``SolverResult.gradient`` is that
    gradient, along the solver's centred directions: the plain one when the intercept
    is optimal.)
    """
    gradient = np.asarray(gradient, dtype=np.float64)
    l1_new = np.broadcast_to(np.asarray(l1_new, dtype=np.float64), gradient.shape)
    l1_prev = np.broadcast_to(np.asarray(l1_prev, dtype=np.float64), gradient.shape)
    return (l1_new == 0) | (np.abs(gradient) >= 2.0 * l1_new - l1_prev)


@functools.wraps(_solve)
def solve(problem: LinearProblem, penalty, **options):
    # The solver's own BLAS calls (exact support steps) are small and interleaved with
    # single-threaded coordinate descent; multi-threaded BLAS only adds synchronisation
    # there (and oversubscribes busy machines), so they run single-threaded. (Finding the
    # BLAS libraries costs ~30 ms once per process: skipped where OpenBLAS would not
    # thread the products anyway.)
    n, p = problem.n_samples, problem.n_features
    if n * min(n, p) ** 2 < 2e7:  # its products (n × k × k, k ≤ min(n, p)) stay unthreaded
        return _solve(problem, penalty, **options)
    with _single_threaded_blas():
        return _solve(problem, penalty, **options)


_CONTROLLER = None
_BLAS_DEPTH = threading.local()  # per thread: how many single-threaded-BLAS blocks are open


@contextlib.contextmanager
def _single_threaded_blas():
    """BLAS limited to one thread; re-entrant: a block opened inside another (each solve of a
    path) costs nothing, where entering threadpoolctl's limits costs ~0.1-0.6 ms per call."""
    global _CONTROLLER
    depth = getattr(_BLAS_DEPTH, "value", 0)
    if depth:
        _BLAS_DEPTH.value = depth + 1
        try:
            yield
        finally:
            _BLAS_DEPTH.value = depth
        return
    if _CONTROLLER is None:
        import scipy.linalg  # noqa: F401  (loads the BLAS that the compiled kernels call)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        _BLAS_DEPTH.value = 1
        try:
            yield
        finally:
            _BLAS_DEPTH.value = 0


def gram_pays_off(n, p):
    """Heuristic for ``gram="auto"`` on a single fit: the ``n·p²`` Gram product (BLAS-3)
    must cost less than the dozen or so ``n·p`` coordinate-descent epochs it replaces."""
    return p <= GRAM_MAX_FEATURES and n >= GRAM_MIN_RATIO * p


def _violators_covered(k, w, grad, pen, P, L, scores, idx, ws):
    """Whether every feature of ``idx`` that violates its optimality condition was in the working
    set ``ws`` of the last sub-problem (glmnet's KKT check before its convergence rule counts)."""
    if ws is None:
        return False
    k.violations(w, grad, pen, P, L, scores)
    uncovered = scores > 0.0
    uncovered[ws] = False
    if idx.shape[0] == scores.shape[0]:  # every feature checked (idx is all of them, in order)
        return not bool(uncovered.any())
    return not bool(uncovered[idx].any())


def _check_thresh(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or \
            not np.isfinite(value) or value < 0:
        raise ValueError(f"thresh must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_dual_k(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"dual_extrapolation must be an integer >= 0, got {value!r}")
    return int(value)


def _as_mask(features, p):
    if features is None:
        return None
    features = np.asarray(features)
    if features.dtype == bool:
        if features.shape != (p,):
            raise ValueError(f"initial_working_set has shape {features.shape}, expected ({p},).")
        return features
    mask = np.zeros(p, dtype=bool)
    mask[features.astype(np.int64)] = True
    return mask


def _working_set(k, w, grad, pen, P, L, usable, unpenalized, scores, min_size):
    """Support ∪ unpenalized ∪ the most violating features; at least twice the support."""
    k.violations(w, grad, pen, P, L, scores)
    forced = usable & ((w != 0) | unpenalized)
    scores[forced] = np.inf
    scores[~usable] = -1.0
    n_usable = int(np.count_nonzero(usable))
    size = min(n_usable, max(min_size, 2 * int(np.count_nonzero(forced))))
    if size >= n_usable:
        return np.flatnonzero(usable)
    # the candidates are the forced and violating features (score > 0; the others' scores are
    # 0, or −1 where unusable): partition those only, not all p scores
    positive = scores > 0.0
    candidates = np.flatnonzero(positive)
    if candidates.shape[0] > size:
        ws = candidates[np.argpartition(-scores[candidates], size - 1)[:size]]
        ws.sort()
        return ws
    if candidates.shape[0] < size:  # every candidate, then the first usable non-violators (ties at 0)
        positive[np.flatnonzero(usable & ~positive)[:size - candidates.shape[0]]] = True
        return np.flatnonzero(positive)
    return candidates
