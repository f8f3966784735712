"""Profiles: how many samples each check buys. ``quick`` is for CI, ``standard`` for ``make verify``,
``thorough`` for more power. A check reads its sizes as ``profile.sizes(claim_id)``.

Sizes follow from power, not habit: the ``quick`` sizes are the ones at which ``tests/test_power.py`` shows each
check catching every one of its mutants at its own budget; ``standard`` and ``thorough`` buy narrower
intervals (the CLT scale shrinks like 1/sqrt(chains)). Deterministic checks (``lecture.modified-loss-gd``,
``lecture.gd-stability``) scale the number of starts or of hypothesis examples instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

NAMES = ("quick", "standard", "thorough")


@dataclass(frozen=True)
class Profile:
    """A named set of sizes. ``time_budget_s`` bounds the time one check may spend inside the implementation."""

    name: str
    time_budget_s: float
    table: MappingProxyType[str, MappingProxyType[str, Any]]

    def power(self, claim_id: str) -> str:
        """What the profiles buy for ``claim_id`` (empty where not stated)."""
        return _POWER.get(claim_id, "")

    def sizes(self, claim_id: str) -> MappingProxyType[str, Any]:
        try:
            return self.table[claim_id]
        except KeyError:
            raise KeyError(f"profile {self.name!r} has no sizes for claim {claim_id!r}") from None


# claim id -> (quick, standard, thorough) sizes
_SIZES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    # chains per hypothesis example; quick separates the noise-scale bug x1/sqrt(2) by > 25 standard errors
    "sgld.exact-quadratic-law": ({"chains": 4000, "examples": 4, "steps": 60},
                                 {"chains": 20000, "examples": 10, "steps": 60},
                                 {"chains": 100000, "examples": 25, "steps": 60}),
    "sgld.time-scale": ({"chains": 8000}, {"chains": 40000}, {"chains": 200000}),
    "lecture.gibbs-stationary": ({"chains": 2000}, {"chains": 8000}, {"chains": 32000}),
    # SE 0.0018 at quick against a Gibbs/finite-step gap of 0.0186 and a x1/2 noise-variance bug of 0.13
    # per-chain occupation sd ~0.28 -> SE 0.0045 at quick; a halved temperature barely mixes from x = 0 (~0.5)
    "lecture.gibbs-flat-vs-sharp": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    "lecture.gibbs-equipartition": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    "lecture.modified-loss-gd": ({"starts": 4}, {"starts": 8}, {"starts": 16}),
    "lecture.gd-stability": ({"examples": 12}, {"examples": 40}, {"examples": 120}),
    # 4 coordinates per chain: relative SE of a variance sqrt(2 / (4 chains)) = 0.5% at quick vs a 5.6% effect
    # SE of E[delta_2^2] ~ 0.6% at quick: the Gibbs shape is 10x off, lr x 1.1 moves M by ~10%
    "lecture.sgd-stationary-shape": ({"chains": 10000}, {"chains": 40000}, {"chains": 160000}),
    "lecture.sgd-temperature": ({"chains": 20000}, {"chains": 80000}, {"chains": 320000}),
    "sde.ito-weak-order": ({"paths": 20000}, {"paths": 100000}, {"paths": 400000}),
    # bounded-f CLT: the Stratonovich law (nu = 5, wider) sits 7 SE away at quick; KS adds the shape
    "lecture.fokker-planck-form": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    # minibatch draws per (b, sampling); SE of a covariance entry ~ 1% of Sigma at quick
    "lecture.minibatch-noise-covariance": ({"draws": 20000}, {"draws": 80000}, {"draws": 320000}),
    # chains whose mean is compared with GD: SE ~ 0.002 per coordinate at quick, lr x 1.1 moves the mean ~0.05
    "lecture.sgf-mean-is-gf": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    # placeholders for claims in progress (issue 3); each owner tunes its own line
    "lecture.hessian-reparam": ({"examples": 10}, {"examples": 30}, {"examples": 100}),
    "lecture.igs-invariant": ({"examples": 10}, {"examples": 30}, {"examples": 100}),
    "lecture.ntk-dual-solution": ({"networks": 8}, {"networks": 16}, {"networks": 48}),
    "lecture.ntk-lazy": ({"networks": 8}, {"networks": 16}, {"networks": 32}),
    "lecture.mean-field-moves": ({"networks": 8}, {"networks": 16}, {"networks": 32}),
    "sde.ito-strong-order": ({"paths": 4000}, {"paths": 20000}, {"paths": 100000}),
    # networks per width (each gives n i.i.d. neurons): KS on >= 64 draws, GLS on log RMS over 5 widths
    "lecture.ntk-jacobian-scale": ({"networks": 4}, {"networks": 16}, {"networks": 64}),
    # networks per width: mean SE ~ 0.57/sqrt(n networks); slope SE ~ 0.02 at quick (300 networks)
    "lecture.ntk-limit": ({"networks": 300}, {"networks": 1200}, {"networks": 4000}),
    "lecture.ntk-hessian-scale": ({"networks": 4}, {"networks": 16}, {"networks": 48}),
    # least-squares SDE models (seed 001, issue 4): each owner tunes its own line
    # single-sample SGD increments per point (3 points per model): SE of a covariance entry ~1% of Sigma at quick;
    # the uncentred covariance adds gamma^2 grad L grad L' (up to ~130 SE at the training points)
    "lsq-sde.model-moments": ({"draws": 20000}, {"draws": 80000}, {"draws": 320000}),
    # the frozen Ker X component is exact (any chain count catches a jitter); chains only sharpen the Markov bound
    "lsq-sde.kernel-component-frozen": ({"chains": 200}, {"chains": 1000}, {"chains": 4000}),
    # quick: Stratonovich (Heun) drift moves m by ~12 SE, the doubled diffusion M by ~10 SE (threshold ~3.8); dt =
    # 1e-3 keeps the EM bias < 0.25 SE at thorough (0.17)
    "lsq-sde.second-moment-ode": ({"chains": 3000}, {"chains": 12000}, {"chains": 48000}),
    # quick: Heun shifts the invariant mean by ~9 SE, the doubled diffusion M_inf by ~10 SE (threshold ~3.5);
    # dt = 2e-3 keeps EM bias + transient < 0.25 SE at thorough (0.13)
    "lsq-sde.invariant-mean": ({"chains": 1000}, {"chains": 4000}, {"chains": 16000}),
    # chains per start (two starts): at quick the noise-free and Stratonovich curves sit > 6 and > 10 SE away;
    # thorough stays at 8000 because dt = 1/400 keeps the exact EM bias < 0.25 SE only up to that size
    "lsq-sde.noiseless-exponential": ({"chains": 2000}, {"chains": 4000}, {"chains": 8000}),
    # KS of log|eta_T|: the Stratonovich law is shifted by 0.27 sd (KS distance ~0.1 vs 0.03 critical at quick)
    "lsq-sde.geometric-bm": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    # coupled pairs: independent copies (own noise) never contract; noise-free / Stratonovich differences > 6 SE
    # at quick; thorough 8000 is the size at which dt = 1/200 keeps the exact EM bias < 0.25 SE
    "lsq-sde.wasserstein-rate": ({"chains": 2000}, {"chains": 4000}, {"chains": 8000}),
    # chains per start (3 groups): decoupled or start-dependent noise misses eps by orders of magnitude at quick;
    # the thorough size sets eps (a start effect below 0.01 SE there)
    "lsq-sde.invariant-unique": ({"chains": 2000}, {"chains": 4000}, {"chains": 32000}),
    # i.i.d. draws of delta_T (6000 EM steps each): at quick the KS distance to the Stratonovich law (0.024) is 1.6x
    # the critical 0.015 and Hill (k = N/10, exact oracle) puts nu = 5 3.4 sd away (5.9 at standard, 10.8 at thorough)
    "lsq-sde.heavy-tail": ({"chains": 20000}, {"chains": 60000}, {"chains": 200000}),
    # SE of E delta^2 ~ 0.0026 at quick: the SDE value 1/6 and the lr x 1.1 value 0.234 sit ~13 SE from SGD's 0.2
    "lsq-sde.sde-vs-sgd-tail-mismatch": ({"chains": 20000}, {"chains": 100000}, {"chains": 400000}),
    # independent chains per run (4 fixed steps, Polyak, decaying): per-chain time averages give a 0.2% SE on the
    # stationary E|delta|^2 at quick, so lr x 1.1 sits > 60 SE away, hidden momentum > 300, a frozen schedule > 100
    "lsq-sde.variance-reduction": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    # local Lojasiewicz SGD (seed 003) and lazy SGLD (seed 000), issue 6: each owner tunes its own line
    # per-step factor SE ~9e-4 at quick: lr x 1.1 (0.353 vs 0.375) sits ~25 SE away, clipping ~120, momentum > 200
    "lojasiewicz.contraction": ({"chains": 20000}, {"chains": 100000}, {"chains": 400000}),
    # exits: none expected (loose bound); quick's path-length SE ~0.1% (path 1.30 vs bound 2.20) puts momentum, a
    # stale gradient, lr x 2 (paths 2.55 to 3.86) 40 to 155 SE above the bound; larger sizes sharpen the exit frequency
    "lojasiewicz.stay-in-ball": ({"chains": 4000}, {"chains": 16000}, {"chains": 64000}),
    # the horizon K (~5200 to 5700 steps) follows from the chain count by Markov; a stall (weight decay, bounded
    # noise, sign steps) leaves every survivor above 1e-12 at any size
    "lojasiewicz.global-min": ({"chains": 2000}, {"chains": 8000}, {"chains": 32000}),
    # windows [2^j, 2^(j+1)) up to 2^top: quick (k < 8192) SE ~1.5% per window, slope +-0.017 (99.95%): lr x 1.1 is
    # 7.4 SE off (slope 6 SE; thresholds 4.0, 3.5), momentum 53, a frozen schedule 890; thorough reaches k = 1.3e5
    "lojasiewicz.bounded-noise-negative": ({"chains": 4000, "top": 13}, {"chains": 8000, "top": 15},
                                           {"chains": 16000, "top": 17}),
    # mean-field Langevin dynamics (seed 004), issue 7: each owner tunes its own line
    # particles in 200 replicas, tested against exact finite-step laws: variance SE ~1% at quick, so noise
    # sqrt(lambda eta) (ratio 0.5) sits ~50 SE away and noise sqrt(2 lambda) eta (ratio ~lr) further
    "mfld.langevin-kl-dissipation": ({"particles": 20000}, {"particles": 100000}, {"particles": 400000}),
    # quick: halved noise ~50 SE, noise sqrt(2 lambda) eta ~90 SE, a drift without the mean-field term ~150 SE
    "mfld.particle-update": ({"particles": 20000}, {"particles": 100000}, {"particles": 400000}),
    # quick: moments per time vs the exact recursion catch every mutant by > 10 SE; tight-case slope SE ~0.01
    "mfld.exponential-decay": ({"particles": 20000}, {"particles": 100000}, {"particles": 400000}),
    # quick: halved noise shifts the free-energy increments ~5 SE (Bonferroni threshold ~4.2), ~11 SE at standard;
    # noise sqrt(2 lambda) eta and a drift without the mean-field term far more
    "mfld.free-energy-decreases": ({"particles": 40000}, {"particles": 100000}, {"particles": 400000}),
    # segments (q, q1) of exact identities: every mutant (p_q with +dF) fails on the first segment at any size
    "mfld.proximal-gibbs-fixed-point": ({"examples": 10}, {"examples": 30}, {"examples": 100}),
    # generated q: KL arguments swapped / entropy sign violate the sandwich on most q; quick already catches both
    "mfld.sandwich": ({"examples": 50}, {"examples": 200}, {"examples": 800}),
    # random networks (8 inputs, 50 particles, 5 probes each): missing y_i or l for l' fail on the first network
    "mfld.first-variation-formula": ({"examples": 10}, {"examples": 30}, {"examples": 100}),
    # finite-difference nodes on [-10, 10]: quick's O(h^2) error (~1e-4) is far below the gap/bound margin (>= 2x)
    "mfld.lsi-constant": ({"grid": 1000}, {"grid": 2000}, {"grid": 4000}),
    # random states per alpha for the exact identities (any size decides them; larger only samples more states)
    "sgld-lazy.model": ({"states": 8}, {"states": 32}, {"states": 128}),
    # chains of the linearised net for the exact law (dt halves as chains x4: exact EM bias < 0.25 SE at each size),
    # coupled chains per alpha for the orders; quick: Stratonovich ~16 SE, dropped/doubled noise ~6 SE (threshold ~3.8)
    "sgld-lazy.stay-near-init": ({"chains": 1000, "grid_chains": 100, "alphas": (2, 4, 8, 16), "dt": 1 / 200},
                                 {"chains": 1600, "grid_chains": 200, "alphas": (2, 4, 8, 16, 32), "dt": 1 / 200},
                                 {"chains": 6400, "grid_chains": 400, "alphas": (2, 4, 8, 16, 32, 64), "dt": 1 / 400}),
    # coupled chains per alpha: the order of the kernel change is ~2.1 +- 0.001 at quick against the claimed >= 1
    "sgld-lazy.ntk-eigenvalue": ({"chains": 200, "alphas": (1, 2, 4, 8, 16, 32)},
                                 {"chains": 400, "alphas": (1, 2, 4, 8, 16, 32, 64)},
                                 {"chains": 1600, "alphas": (1, 2, 4, 8, 16, 32, 64)}),
    # chains of the linearised net (dt halves as chains x4: exact EM bias < 0.25 SE at each size); quick: Stratonovich
    # ~16 SE, doubled noise ~10 SE, dropped noise ~10 SE from the exact moments (threshold ~3.9)
    "sgld-lazy.exponential-loss": ({"chains": 400, "dt": 1 / 100}, {"chains": 1600, "dt": 1 / 200},
                                   {"chains": 6400, "dt": 1 / 400}),
    # networks per width: the exact oracle E H(0) = H_inf catches arccos in degrees at any size
    "sgld-lazy.ntk-init-positive": ({"networks": 200}, {"networks": 800}, {"networks": 3200}),
    # report-only: the guard (MFLD above chance at n = 8d) has power ~1 against a gradient-free update at every size
    "mfld.sparse-parity": ({"replicas": 4, "particles": 256, "steps": 600, "dims": (8,)},
                           {"replicas": 4, "particles": 512, "steps": 1000, "dims": (8, 12, 16)},
                           {"replicas": 8, "particles": 512, "steps": 1000, "dims": (8, 12, 16)}),
    "mfld.annealing": ({"replicas": 4, "particles": 256, "stage_steps": 120},
                       {"replicas": 8, "particles": 512, "stage_steps": 200},
                       {"replicas": 16, "particles": 512, "stage_steps": 400}),
}

#: what each profile buys, shown in the report beside the check (measured against the check's mutants at quick)
_POWER: dict[str, str] = {
    "lsq-sde.model-moments": "the symbolic identities decide the uncentred-covariance mistake at every profile; "
                             "an uncentred factor in a solver is ~130 SE off at quick",
    "lsq-sde.kernel-component-frozen": "exact at every profile (an isotropic jitter moves the Ker X component "
                                       "at any chain count); larger profiles only sharpen the convergence bound",
    "lsq-sde.second-moment-ode": "quick: Stratonovich ~12 SE, doubled diffusion ~10 SE from the exact moments "
                                 "(threshold ~3.8); standard/thorough x2/x4 in SE",
    "lsq-sde.invariant-mean": "quick: Stratonovich ~9 SE, doubled diffusion ~10 SE (threshold ~3.5); "
                              "standard/thorough x2/x4 in SE",
    "lsq-sde.noiseless-exponential": "exact rate decisions at every profile; quick: noise dropped > 6 SE, "
                                     "Stratonovich ~22 SE; thorough capped at 8000 chains by the EM-bias rule",
    "lsq-sde.geometric-bm": "quick: the Stratonovich law's KS distance ~0.1 vs 0.03 critical; full power at quick",
    "lsq-sde.wasserstein-rate": "quick: uncoupled noise ~21 SE, Stratonovich and noise dropped > 6 SE; full power "
                                "at quick, thorough capped at 8000 pairs by the EM-bias rule",
    "lsq-sde.invariant-unique": "decoupled or start-dependent noise misses the contraction threshold by orders of "
                                "magnitude at quick; Stratonovich or a doubled diffusion still have a unique law "
                                "and are not caught here (by design)",
    "lsq-sde.heavy-tail": "quick: Stratonovich (nu = 5) caught by KS (1.6x the critical distance); the Hill "
                          "estimate alone separates nu = 5 by 3.4 sd at quick, 5.9 at standard, 10.8 at thorough: "
                          "use standard for a tail-index verdict that does not lean on KS",
    "lsq-sde.sde-vs-sgd-tail-mismatch": "exact Kesten roots at every profile; quick: the SDE value and lr x 1.1 sit "
                                        "~13 SE from SGD's second moment; the Hill report needs standard to be "
                                        "tight",
    "lsq-sde.variance-reduction": "quick: lr x 1.1 > 60 SE, hidden momentum > 300 SE, a frozen schedule > 100 SE; "
                                  "full power at quick",
    "lojasiewicz.contraction": "exact symbolic decisions at every profile; quick: lr x 1.1 ~25 SE, clipping ~120 SE, "
                               "momentum / stale gradient / sign steps > 200 SE; the log-slope interval resolves a "
                               "~0.5% step rescaling at quick, ~0.25% at standard, ~0.12% at thorough",
    "lojasiewicz.stay-in-ball": "the exit test cannot have power (no exit expected, loose bound); at quick the "
                                "quadratic's path length puts momentum, a stale gradient and lr x 2 40-155 SE above "
                                "its bound; larger profiles only sharpen the exit frequency",
    "lojasiewicz.global-min": "stalls (weight decay, bounded noise, sign steps) leave survivors above 1e-12 at every "
                              "profile; rescalings that still converge pass here by design (caught by "
                              "lojasiewicz.contraction)",
    "lojasiewicz.bounded-noise-negative": "quick (k < 8192): lr x 1.1 7.4 SE, momentum 53 SE, a frozen schedule "
                                          "890 SE; slope interval +-0.017 at quick, +-0.008 at standard, +-0.004 at "
                                          "thorough (k < 131072)",
    "mfld.langevin-kl-dissipation": "exact symbolic decisions at every profile; quick: halved noise ~40 SE (variance "
                                    "ratio 0.57), noise ∝ lr far more; full power at quick",
    "mfld.particle-update": "quick: noise sqrt(lambda eta) ~50 SE, noise sqrt(2 lambda) eta ~90 SE, drift without "
                            "the mean-field term ~150 SE; full power at quick",
    "mfld.exponential-decay": "exact closed-form and symbolic rate decisions at every profile; quick: halved noise "
                              "moves the tight-case slope to 0.85 (SE ~0.01), noise ∝ lr gives rate 0.75 < 1; SE /2.2 "
                              "at standard, /4.5 at thorough",
    "mfld.free-energy-decreases": "quick: halved noise ~7 SE in the free-energy increments (threshold ~4.2; at 20000 "
                                  "particles it was ~5 SE and calibration saw it missed in 2 of 9 seeds), standard "
                                  "~11 SE; noise ∝ lr and a missing mean-field term far more",
    "sgld-lazy.model": "exact identities at every profile; unscaled or uncentred noise is caught at any size",
    "sgld-lazy.stay-near-init": "quick (1000 chains): Stratonovich ~25 SE, backward Itô ~60 SE, dropped, doubled or "
                                "rescaled noise 8-11 SE (threshold ~3.8; at 400 chains calibration saw rescaled "
                                "increments missed in 1 of 9 seeds); O(1) and uncoupled noise fail the orders by > 30 "
                                "SE; standard and thorough add chains and smaller steps",
    "sgld-lazy.ntk-eigenvalue": "quick rejects O(1) noise, jitter and a broadcast diffusion by > 15 SE; integrators of "
                                "another SDE with O(1/a) noise pass by design (sgld-lazy.stay-near-init catches them)",
    "sgld-lazy.exponential-loss": "quick: Stratonovich ~16 SE, backward Itô ~40 SE, dropped or doubled noise ~10 SE "
                                  "(threshold ~3.9); a loss without 1/a^2 fails the exact generator; standard and "
                                  "thorough x2 and x4 in SE",
    "sgld-lazy.ntk-init-positive": "exact lambda_0 and the repeated-input counterexample at every profile; arccos in "
                                   "degrees fails at any size; larger profiles tighten the comparisons across widths",
    "mfld.sparse-parity": "report-only; quick runs d = 8 only, standard and thorough d in {8, 12, 16}; the guard "
                          "catches a gradient-free update and gradient ascent at every profile; thorough adds replicas",
    "mfld.annealing": "report-only; the deterministic guard catches gradient ascent at quick; larger profiles narrow "
                      "the reported band",
    "mfld.proximal-gibbs-fixed-point": "exact identities at every profile (p_q ∝ exp(+dF/lambda) fails at quick); "
                                       "larger profiles add segments",
    "mfld.sandwich": "quadrature at 1e-9 with margins ~4e-5; swapped KL arguments and a flipped entropy sign fail at "
                     "quick; larger profiles add more q",
    "mfld.lsi-constant": "the bound sits >= 2x below the spectral gap against an O(h^2) error ~1e-4 at quick; the "
                         "flipped exponent is 3-200x too large at every profile",
    "mfld.first-variation-formula": "complex-step identities at machine precision; a missing y_i or l in place of l' "
                                    "fail on the first network at every profile",
}

_BUDGETS_S = {"quick": 120.0, "standard": 600.0, "thorough": 1800.0}


def get(name: str) -> Profile:
    """The profile called ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown profile {name!r}; expected one of {NAMES}")
    index = NAMES.index(name)
    table = MappingProxyType({cid: MappingProxyType(sizes[index]) for cid, sizes in _SIZES.items()})
    return Profile(name=name, time_budget_s=_BUDGETS_S[name], table=table)
