r"""Symbolic facts about Theorem 1's Λ, proven with sympy.

Symbols: λ_0, ..., λ_{K-1} for the first row of Λ, z for the variable of a
characteristic polynomial, and for the largest singular value

    a = ‖v‖²,  c = ‖λ‖² - a,
    g(a, c) = (a + c + 1 + √D) / 2,  D = (a + c + 1)² - 4c,

with v and c as in :mod:`cgtheory.contraction` (companion form: c = λ_{K-1}²;
printed form: c = λ_0²). Every function here returns sympy expressions or a
:class:`SymbolicFact` whose identities sympy has reduced to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from cgtheory._validation import require_choice, require_int_at_least
from cgtheory.companion import FORMS

z = sp.Symbol("z")
a, c = sp.symbols("a c", nonnegative=True)
alpha, mu, L, eta = sp.symbols("alpha mu L eta", positive=True)


@dataclass
class SymbolicFact:
    """A statement and the identities that prove it.

    Attributes:
        statement: the fact in words.
        identities: (name, expression) pairs that sympy simplified to zero.
        proven: True when every identity simplified to zero.
        steps: the argument that joins the identities into the statement.
    """

    statement: str
    identities: list[tuple[str, sp.Expr]] = field(default_factory=list)
    proven: bool = False
    steps: list[str] = field(default_factory=list)


def first_row_symbols(K: int) -> list[sp.Symbol]:
    """Return the symbols λ_0, ..., λ_{K-1}."""
    K = require_int_at_least("K", K, 1)
    return list(sp.symbols(f"lambda_0:{K}", real=True))


def symbolic_lambda(K: int, form: str = "companion") -> sp.Matrix:
    """Build Λ with symbolic first row (see :func:`cgtheory.companion.lambda_matrix`)."""
    require_choice("form", form, FORMS)
    row = first_row_symbols(K)
    matrix = sp.zeros(K, K)
    for j, symbol in enumerate(row):
        matrix[0, j] = symbol
    for i in range(1, K):
        matrix[i, i - 1 if form == "companion" else i] = 1
    return matrix


def characteristic_polynomial(K: int, form: str = "companion") -> sp.Expr:
    """Return det(zI - Λ), factored.

    The companion form gives z^K - λ_0 z^{K-1} - ... - λ_{K-1}, the
    characteristic polynomial of the recursion; the printed form gives
    (z - λ_0)(z - 1)^{K-1}, whose roots do not depend on the memory weights.
    """
    return sp.factor(symbolic_lambda(K, form).charpoly(z).as_expr())


def gram_characteristic_polynomial(K: int, form: str = "companion") -> sp.Expr:
    """Return det(zI - ΛᵀΛ), whose roots are the squared singular values, factored."""
    matrix = symbolic_lambda(K, form)
    return sp.factor((matrix.T * matrix).charpoly(z).as_expr())


def singular_values_squared(K: int, form: str = "companion") -> list[sp.Expr]:
    """Return the K squared singular values of Λ in closed form (K >= 2).

    They are 1 with multiplicity K - 2 and the two roots of
    z² - (s + 1) z + c with s = ‖λ‖².
    """
    K = require_int_at_least("K", K, 2)
    require_choice("form", form, FORMS)
    row = first_row_symbols(K)
    s = sum(symbol**2 for symbol in row)
    c_value = row[-1] ** 2 if form == "companion" else row[0] ** 2
    root = sp.sqrt((s + 1) ** 2 - 4 * c_value)
    return [sp.Integer(1)] * (K - 2) + [(s + 1 + root) / 2, (s + 1 - root) / 2]


def verify_gram_factorization(K: int, form: str = "companion") -> SymbolicFact:
    """Prove det(zI - ΛᵀΛ) = (z - 1)^{K-2} (z² - (s + 1) z + c) for this K."""
    K = require_int_at_least("K", K, 2)
    row = first_row_symbols(K)
    s = sum(symbol**2 for symbol in row)
    c_value = row[-1] ** 2 if form == "companion" else row[0] ** 2
    claimed = (z - 1) ** (K - 2) * (z**2 - (s + 1) * z + c_value)
    matrix = symbolic_lambda(K, form)
    difference = sp.expand((matrix.T * matrix).charpoly(z).as_expr() - claimed)
    return SymbolicFact(
        statement=f"det(zI - ΛᵀΛ) = (z-1)^{K - 2} (z² - (‖λ‖²+1) z + c) for K = {K}, {form} form",
        identities=[("charpoly difference", difference)],
        proven=difference == 0,
    )


def prove_q_at_least_one() -> SymbolicFact:
    """Prove max(1, a + c) <= g(a, c) <= 1 + a + c for all a, c >= 0, so q(α, K) >= 1 for K >= 2.

    With a + c = ‖λ‖², this brackets q² between max(1, ‖λ‖²) and 1 + ‖λ‖² at
    the maximizer, where ‖λ‖² = m_0² + (K-1)α²L².
    """
    D = (a + c + 1) ** 2 - 4 * c
    gap_low = sp.expand(D - (a + c - 1) ** 2)
    gap_high = sp.expand((a + c + 1) ** 2 - D)
    proven = sp.simplify(gap_low - 4 * a) == 0 and sp.simplify(gap_high - 4 * c) == 0
    return SymbolicFact(
        statement="For K >= 2 and every α > 0: max(1, ‖λ‖²) <= σ_max(Λ)² <= 1 + ‖λ‖², hence q(α, K) >= 1.",
        identities=[
            ("D - (a + c - 1)² - 4a", sp.simplify(gap_low - 4 * a)),
            ("(a + c + 1)² - D - 4c", sp.simplify(gap_high - 4 * c)),
        ],
        proven=proven,
        steps=[
            "D - (a+c-1)² = 4a >= 0, so √D >= |a+c-1|.",
            "Then g = (a+c+1+√D)/2 >= (a+c+1+|a+c-1|)/2 = max(1, a+c).",
            "(a+c+1)² - D = 4c >= 0, so √D <= a+c+1 and g <= a+c+1.",
            "σ_max(Λ)² = g(a, c) for K >= 2, so σ_max(Λ) >= 1 for every weight and curvature.",
        ],
    )


def small_step_limit(form: str = "companion") -> sp.Expr:
    """Return lim_{α→0} q(α, K)² for K >= 2: 2 for the companion form, 1 for the printed form."""
    require_choice("form", form, FORMS)
    K = sp.Symbol("K", integer=True, positive=True)
    m0 = 1 - alpha * mu  # for α < 2/(µ+L) the maximizing η_0 is µ
    memory = (alpha * L) ** 2
    if form == "companion":
        a_value, c_value = m0**2 + (K - 2) * memory, memory
    else:
        a_value, c_value = (K - 1) * memory, m0**2
    total = a_value + c_value + 1
    g_value = (total + sp.sqrt(total**2 - 4 * c_value)) / 2
    return sp.simplify(sp.limit(g_value, alpha, 0, "+"))


def k1_rate_comparison() -> dict[str, sp.Expr]:
    """Compare the K = 1 rate with the formula the paper prints for it.

    For K = 1, Λ = [1 - αη_0] and q = max over η in [µ, L] of |1 - αη|, the
    rate of gradient descent. The paper writes max over η of |1 - αηL|
    instead. Returns both as functions of η and their values at α = 1/L,
    η = µ (the maximizer for α = 1/L).
    """
    correct = sp.Abs(1 - alpha * eta)
    printed = sp.Abs(1 - alpha * eta * L)
    at_one_over_L = {alpha: 1 / L, eta: mu}
    return {
        "correct": correct,
        "printed": printed,
        "correct_at_alpha_1_over_L": sp.simplify(correct.subs(at_one_over_L)),
        "printed_at_alpha_1_over_L": sp.simplify(printed.subs(at_one_over_L)),
    }
