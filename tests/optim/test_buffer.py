"""BatchedCriticalBuffer against a plain-Python reference of Algorithm 1 and its ablations."""

import math

import pytest
import torch

from cgtheory.optim import BatchedCriticalBuffer
from cgtheory.optim.policies import eviction_slot


class ReferenceBuffer:
    """Algorithm 1 with Python lists: entries are dicts of grad, norm, priority and age."""

    def __init__(self, topC, decay, aggr, selection="norm", replacement=None):
        self.topC, self.decay, self.aggr, self.selection = topC, decay, aggr, selection
        defaults = {"norm": "smallest", "bottomC": "largest", "fifo": "oldest"}
        self.replacement = replacement or defaults.get(selection, "smallest")
        self.entries = []

    def aggregate(self, g):
        n = len(self.entries)
        if n == 0:
            return list(g)
        sums = [sum(e["grad"][i] for e in self.entries) for i in range(len(g))]
        if self.aggr == "mean":
            return [(g[i] + sums[i]) / (n + 1) for i in range(len(g))]
        if self.aggr == "sum":
            return [g[i] + sums[i] / n for i in range(len(g))]
        # Ties go to the oldest entry: sort by (norm, -age).
        ordered = sorted(self.entries, key=lambda e: (e["norm"], -e["age"]))
        if self.aggr == "min_norm":
            chosen = ordered[0]
        elif self.aggr == "max_norm":
            chosen = sorted(self.entries, key=lambda e: (-e["norm"], -e["age"]))[0]
        else:
            chosen = ordered[(n - 1) // 2]
        return [(g[i] + chosen["grad"][i]) / 2 for i in range(len(g))]

    def admission_probability(self, g, norm):
        priorities = [e["priority"] for e in self.entries]
        if self.selection == "norm":
            return 1.0 if norm > min(priorities) else 0.0
        if self.selection == "bottomC":
            return 1.0 if norm < max(priorities) else 0.0
        if self.selection == "fifo":
            return 1.0
        if self.selection == "coin_toss":
            return 0.5
        if self.selection == "mnds":
            mean_norm = sum(e["norm"] for e in self.entries) / len(self.entries)
            return min(1.0, abs(norm - mean_norm) / mean_norm)
        total = [sum(e["grad"][i] for e in self.entries) for i in range(len(g))]
        total_norm = math.sqrt(sum(x * x for x in total))
        cosine = sum(a * b for a, b in zip(g, total)) / (norm * total_norm)
        return (1 - cosine) / 2 if self.selection == "cds" else (1 + cosine) / 2

    def evict(self):
        if self.replacement == "smallest":
            key = lambda e: (e["priority"], -e["age"])  # noqa: E731
        elif self.replacement == "largest":
            key = lambda e: (-e["priority"], -e["age"])  # noqa: E731
        else:
            key = lambda e: -e["age"]  # noqa: E731
        self.entries.remove(min(self.entries, key=key))

    def update(self, g, uniform=None):
        norm = math.sqrt(sum(x * x for x in g))
        store = False
        if math.isfinite(norm):
            if len(self.entries) < self.topC:
                store = True
            else:
                probability = self.admission_probability(g, norm)
                store = (uniform < probability) if uniform is not None else probability > 0.5
                if store:
                    self.evict()
        for e in self.entries:
            e["age"] += 1
        if store:
            self.entries.append({"grad": list(g), "norm": norm, "priority": norm, "age": 0})
        for e in self.entries:
            e["priority"] *= self.decay

    def newest_first(self):
        return sorted(self.entries, key=lambda e: e["age"])


def gradient_stream(steps, d, seed, spread=3.0):
    """Gradients with norms spread over a factor of about e^spread, float64."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        direction = torch.randn(1, d, generator=gen, dtype=torch.float64)
        scale = math.exp(spread * float(torch.rand((), generator=gen, dtype=torch.float64)))
        yield direction * scale


def assert_matches_reference(buffer, reference):
    snapshot = buffer.snapshot()
    entries = reference.newest_first()
    n = len(entries)
    assert int(snapshot.count[0]) == n
    assert snapshot.ages[0, :n].tolist() == [e["age"] for e in entries]
    expected_grads = torch.tensor([e["grad"] for e in entries], dtype=torch.float64).reshape(n, -1)
    torch.testing.assert_close(snapshot.gradients[0, :n], expected_grads, rtol=0, atol=0)
    expected_priorities = torch.tensor([e["priority"] for e in entries], dtype=torch.float64)
    torch.testing.assert_close(snapshot.priorities[0, :n], expected_priorities, rtol=1e-12, atol=0)


DETERMINISTIC_POLICIES = [
    ("norm", None),
    ("bottomC", None),
    ("fifo", None),
    ("norm", "oldest"),
    ("fifo", "smallest"),
    ("bottomC", "smallest"),
]


@pytest.mark.parametrize("selection,replacement", DETERMINISTIC_POLICIES)
@pytest.mark.parametrize("aggr", ["mean", "sum", "min_norm", "max_norm", "median_norm"])
def test_buffer_matches_reference(selection, replacement, aggr):
    topC, decay, d = 4, 0.8, 6
    buffer = BatchedCriticalBuffer(
        1, d, topC, decay, aggr, selection=selection, replacement=replacement, dtype=torch.float64
    )
    reference = ReferenceBuffer(topC, decay, aggr, selection, replacement)
    for g in gradient_stream(40, d, seed=1):
        expected = torch.tensor([reference.aggregate(g[0].tolist())], dtype=torch.float64)
        torch.testing.assert_close(buffer.step(g), expected, rtol=1e-12, atol=1e-12)
        reference.update(g[0].tolist())
        assert_matches_reference(buffer, reference)


@pytest.mark.parametrize("selection", ["coin_toss", "mnds", "cds", "css"])
def test_random_selection_matches_reference(selection):
    # The buffer draws two float64 uniforms per run and step, and the first decides admission.
    topC, decay, d = 3, 0.9, 5
    buffer = BatchedCriticalBuffer(
        1, d, topC, decay, "mean", selection=selection, dtype=torch.float64,
        generator=torch.Generator().manual_seed(7),
    )
    draws = torch.Generator().manual_seed(7)
    reference = ReferenceBuffer(topC, decay, "mean", selection)
    admitted_when_full = 0
    for g in gradient_stream(60, d, seed=2):
        uniform = float(torch.rand((1, 2), generator=draws, dtype=torch.float64)[0, 0])
        before = len(reference.entries)
        buffer.step(g)
        reference.update(g[0].tolist(), uniform)
        admitted_when_full += before == topC and reference.newest_first()[0]["age"] == 0
        assert_matches_reference(buffer, reference)
    # The stream must exercise both outcomes of the random admission.
    assert 0 < admitted_when_full < 60 - topC


def test_batched_runs_are_independent():
    S, topC, decay, d = 5, 3, 0.7, 4
    buffer = BatchedCriticalBuffer(S, d, topC, decay, "sum", dtype=torch.float64)
    references = [ReferenceBuffer(topC, decay, "sum") for _ in range(S)]
    streams = [list(gradient_stream(30, d, seed=10 + s)) for s in range(S)]
    for t in range(30):
        g = torch.cat([streams[s][t] for s in range(S)])
        expected = torch.tensor(
            [references[s].aggregate(streams[s][t][0].tolist()) for s in range(S)], dtype=torch.float64
        )
        torch.testing.assert_close(buffer.step(g), expected, rtol=1e-12, atol=1e-12)
        for s in range(S):
            references[s].update(streams[s][t][0].tolist())
    for s in range(S):
        entries = references[s].newest_first()
        assert buffer.ages()[s, : len(entries)].tolist() == [e["age"] for e in entries]


def test_aggregate_leaves_buffer_unchanged():
    buffer = BatchedCriticalBuffer(2, 3, 2, 0.5, "mean", dtype=torch.float64)
    buffer.update(torch.ones(2, 3, dtype=torch.float64))
    before = buffer.state_dict()
    buffer.aggregate(torch.full((2, 3), 5.0, dtype=torch.float64))
    after = buffer.state_dict()
    for key in ("slots", "total", "priority", "age", "occupied"):
        assert torch.equal(before[key], after[key]), key
    assert after["steps"] == 1


def test_aggregate_then_update_equals_step():
    split = BatchedCriticalBuffer(3, 4, 2, 0.7, "mean", dtype=torch.float64)
    fused = BatchedCriticalBuffer(3, 4, 2, 0.7, "mean", dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        g = torch.randn(3, 4, generator=gen, dtype=torch.float64)
        expected = split.aggregate(g)
        split.update(g)
        torch.testing.assert_close(fused.step(g), expected, rtol=0, atol=0)
    assert torch.equal(split.ages(), fused.ages())


def test_decay_zero_tie_evicts_oldest():
    # With decay = 0 every priority is 0, so the tie rule alone picks the entry that leaves.
    buffer = BatchedCriticalBuffer(1, 1, 3, 0.0, "mean", dtype=torch.float64)
    for value in (5.0, 1.0, 3.0, 2.0, 4.0):
        buffer.step(torch.tensor([[value]], dtype=torch.float64))
    assert buffer.snapshot().gradients[0, :, 0].tolist() == [4.0, 2.0, 3.0]


def test_equal_norms_evict_oldest():
    buffer = BatchedCriticalBuffer(1, 2, 2, 0.9, "mean", dtype=torch.float64)
    stream = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    for g in stream:
        buffer.step(torch.tensor([g], dtype=torch.float64))
    # Each new unit gradient beats the decayed priorities and replaces the oldest entry.
    assert buffer.snapshot().gradients[0].tolist() == [[0.0, -1.0], [-1.0, 0.0]]


def test_zero_gradient_never_enters_full_buffer():
    buffer = BatchedCriticalBuffer(1, 2, 2, 0.0, "mean", dtype=torch.float64)
    buffer.step(torch.ones(1, 2, dtype=torch.float64))
    buffer.step(torch.full((1, 2), 2.0, dtype=torch.float64))
    buffer.step(torch.zeros(1, 2, dtype=torch.float64))
    assert buffer.ages()[0].tolist() == [1, 2]


def test_filling_stores_every_gradient():
    buffer = BatchedCriticalBuffer(1, 1, 3, 0.9, "mean", dtype=torch.float64)
    for value in (10.0, 0.001, 0.0):
        buffer.step(torch.tensor([[value]], dtype=torch.float64))
    assert buffer.snapshot().gradients[0, :, 0].tolist() == [0.0, 0.001, 10.0]


@pytest.mark.parametrize("aggr", ["mean", "sum", "median_norm"])
def test_empty_buffer_returns_gradient(aggr):
    buffer = BatchedCriticalBuffer(2, 3, 4, 0.7, aggr)
    g = torch.randn(2, 3)
    assert torch.equal(buffer.aggregate(g), g)
    assert torch.equal(buffer.step(g), g)


def test_topc_zero_stores_nothing():
    buffer = BatchedCriticalBuffer(2, 3, 0, 0.7, "sum")
    g = torch.randn(2, 3)
    assert torch.equal(buffer.step(g), g)
    assert buffer.ages().shape == (2, 0)
    assert buffer.steps == 1


def test_median_is_lower_median_oldest_first():
    buffer = BatchedCriticalBuffer(1, 1, 4, 0.5, "median_norm", dtype=torch.float64)
    for value in (4.0, 1.0, 3.0, 3.0):
        buffer.step(torch.tensor([[value]], dtype=torch.float64))
    # Norms sorted: 1, 3 (older), 3 (newer), 4. The lower median is the older 3.
    aggregate = buffer.aggregate(torch.tensor([[1.0]], dtype=torch.float64))
    assert aggregate.item() == pytest.approx((1.0 + 3.0) / 2)
    assert buffer.snapshot().gradients[0, :, 0].tolist() == [3.0, 3.0, 1.0, 4.0]


def test_nonfinite_gradient_not_stored():
    buffer = BatchedCriticalBuffer(2, 2, 2, 0.5, "mean", dtype=torch.float64)
    buffer.step(torch.ones(2, 2, dtype=torch.float64))
    bad = torch.tensor([[float("nan"), 1.0], [1.0, 1.0]], dtype=torch.float64)
    aggregate = buffer.step(bad)
    assert torch.isnan(aggregate[0]).any()
    assert buffer.nonfinite_steps.tolist() == [1, 0]
    assert buffer.count.tolist() == [1, 2]
    # The NaN run's entry aged and decayed as in any other step.
    assert buffer.ages()[0, 0].item() == 1
    assert buffer.snapshot().priorities[0, 0].item() == pytest.approx(math.sqrt(2) * 0.25)
    # Its sum stays finite, so the next finite gradient aggregates normally.
    after = buffer.step(torch.full((2, 2), 3.0, dtype=torch.float64))
    assert torch.isfinite(after).all()
    assert after[0].tolist() == [2.0, 2.0]


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_infinite_gradient_not_stored(value):
    buffer = BatchedCriticalBuffer(1, 2, 3, 0.5, "sum", dtype=torch.float64)
    buffer.step(torch.tensor([[value, 0.0]], dtype=torch.float64))
    assert buffer.count.tolist() == [0]
    assert torch.equal(buffer.total, torch.zeros(1, 2, dtype=torch.float64))


def test_running_sum_recomputed_after_cancellation():
    # A large entry leaves float32 rounding behind in the running sum, and
    # the periodic recomputation removes it.
    buffer = BatchedCriticalBuffer(1, 1, 1, 0.0, "sum", exact_sum_every=4)
    values = [1.0e8, 1.0e-3, 1.0e-3, 1.0e-3]
    for value in values:
        buffer.step(torch.tensor([[value]]))
    assert buffer.steps == 4
    assert buffer.total.item() == pytest.approx(1.0e-3, rel=1e-6)


def test_recompute_ignores_nonfinite_free_slot():
    buffer = BatchedCriticalBuffer(2, 2, 2, 0.5, "sum", dtype=torch.float64, exact_sum_every=3)
    buffer.step(torch.ones(2, 2, dtype=torch.float64))
    buffer.step(torch.full((2, 2), 2.0, dtype=torch.float64))
    # The third step leaves a NaN gradient in run 0's free slot, then recomputes the sums.
    buffer.step(torch.tensor([[float("nan"), 0.0], [3.0, 3.0]], dtype=torch.float64))
    assert buffer.steps == 3
    assert buffer.total[0].tolist() == [3.0, 3.0]
    assert buffer.total[1].tolist() == [5.0, 5.0]


def test_running_sum_drifts_without_recomputation():
    buffer = BatchedCriticalBuffer(1, 1, 1, 0.0, "sum", exact_sum_every=0)
    for value in (1.0e8, 1.0e-3, 1.0e-3, 1.0e-3):
        buffer.step(torch.tensor([[value]]))
    # float32 cannot represent 1e8 + 1e-3, so the difference is lost entirely.
    assert abs(buffer.total.item() - 1.0e-3) > 1e-4


def test_eviction_probabilities_follow_weights():
    # Invert a fine grid of uniforms: each slot's share of the grid is its probability.
    priority = torch.tensor([[4.0, 0.0, 1.0, 3.0, 2.0]], dtype=torch.float64)
    occupied = torch.tensor([[True, False, True, True, True]])
    age = torch.tensor([[3, 0, 2, 1, 0]])
    grid = (torch.arange(10000, dtype=torch.float64) + 0.5) / 10000
    counts = {}
    for u in grid.tolist():
        slot = int(eviction_slot("ncpr", priority, age, occupied, torch.tensor([u], dtype=torch.float64)))
        counts[slot] = counts.get(slot, 0) + 1
    assert set(counts) == {0, 2, 3, 4}
    assert counts[0] / 10000 == pytest.approx(0.4, abs=1e-3)
    assert counts[2] / 10000 == pytest.approx(0.1, abs=1e-3)
    assert counts[3] / 10000 == pytest.approx(0.3, abs=1e-3)
    assert counts[4] / 10000 == pytest.approx(0.2, abs=1e-3)


def test_random_replacement_is_uniform_over_entries():
    priority = torch.tensor([[4.0, 0.0, 1.0, 3.0]], dtype=torch.float64)
    occupied = torch.tensor([[True, False, True, True]])
    age = torch.tensor([[3, 0, 2, 1]])
    counts = {}
    for u in ((torch.arange(3000, dtype=torch.float64) + 0.5) / 3000).tolist():
        slot = int(eviction_slot("random", priority, age, occupied, torch.tensor([u], dtype=torch.float64)))
        counts[slot] = counts.get(slot, 0) + 1
    assert counts == {0: 1000, 2: 1000, 3: 1000}


def test_ncpr_with_zero_priorities_is_uniform():
    priority = torch.zeros(1, 3, dtype=torch.float64)
    occupied = torch.tensor([[True, True, False]])
    age = torch.tensor([[0, 1, 0]])
    slots = {int(eviction_slot("ncpr", priority, age, occupied, torch.tensor([u], dtype=torch.float64)))
             for u in (0.1, 0.9)}
    assert slots == {0, 1}


def test_eviction_near_one_hits_entry():
    priority = torch.tensor([[1.0, 2.0, 0.0]], dtype=torch.float64)
    occupied = torch.tensor([[True, True, False]])
    age = torch.tensor([[0, 1, 0]])
    uniform = torch.tensor([1.0 - 2.0**-53], dtype=torch.float64)
    assert int(eviction_slot("ncpr", priority, age, occupied, uniform)) == 1


@pytest.mark.parametrize("selection,replacement", [("coin_toss", "random"), ("mnds", "ncpr"), ("css", "random")])
def test_random_policies_repeat_with_same_seed(selection, replacement):
    def run():
        buffer = BatchedCriticalBuffer(
            3, 4, 3, 0.7, "mean", selection=selection, replacement=replacement,
            generator=torch.Generator().manual_seed(3), dtype=torch.float64,
        )
        gen = torch.Generator().manual_seed(4)
        outputs = [buffer.step(torch.randn(3, 4, generator=gen, dtype=torch.float64)) for _ in range(25)]
        return torch.stack(outputs), buffer.ages()

    first, second = run(), run()
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_global_seed_makes_default_generator_repeat():
    def run():
        torch.manual_seed(11)
        buffer = BatchedCriticalBuffer(2, 3, 2, 0.7, "mean", selection="coin_toss", replacement="random")
        for _ in range(20):
            buffer.step(torch.randn(2, 3))
        return buffer.ages()

    assert torch.equal(run(), run())


def test_coin_toss_admits_about_half():
    buffer = BatchedCriticalBuffer(
        200, 2, 1, 0.5, "mean", selection="coin_toss", generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    buffer.step(torch.ones(200, 2, dtype=torch.float64))
    buffer.step(torch.full((200, 2), 2.0, dtype=torch.float64))
    replaced = (buffer.ages()[:, 0] == 0).double().mean().item()
    assert 0.4 < replaced < 0.6


def test_ages_record_and_maximum():
    buffer = BatchedCriticalBuffer(1, 1, 2, 0.0, "mean", dtype=torch.float64)
    buffer.record_ages_at([1, 3])
    for value in (1.0, 2.0, 3.0, 4.0):
        buffer.step(torch.tensor([[value]], dtype=torch.float64))
    steps = [step for step, _ in buffer.age_records]
    assert steps == [1, 3]
    assert buffer.age_records[0][1].tolist() == [[0, -1]]
    assert buffer.age_records[1][1].tolist() == [[0, 1]]
    assert buffer.max_age.tolist() == [1]


def test_state_dict_resumes_bit_for_bit():
    def make():
        return BatchedCriticalBuffer(
            3, 5, 3, 0.8, "mean", selection="mnds", replacement="ncpr",
            generator=torch.Generator().manual_seed(5), exact_sum_every=7,
        )

    gen = torch.Generator().manual_seed(6)
    grads = [torch.randn(3, 5, generator=gen) for _ in range(30)]
    uninterrupted = make()
    expected = [uninterrupted.step(g) for g in grads]

    first = make()
    for g in grads[:13]:
        first.step(g)
    saved = first.state_dict()
    resumed = make()
    resumed.generator.manual_seed(999)
    resumed.load_state_dict(saved)
    for t, g in enumerate(grads[13:], start=13):
        assert torch.equal(resumed.step(g), expected[t]), t
    assert torch.equal(resumed.ages(), uninterrupted.ages())


def test_load_state_dict_rejects_other_capacity():
    saved = BatchedCriticalBuffer(1, 3, 2, 0.7, "mean").state_dict()
    with pytest.raises(ValueError, match="topC=2 was saved"):
        BatchedCriticalBuffer(1, 3, 3, 0.7, "mean").load_state_dict(saved)


def test_extend_pads_stored_entries():
    buffer = BatchedCriticalBuffer(1, 2, 2, 0.7, "sum", dtype=torch.float64)
    buffer.step(torch.tensor([[1.0, 2.0]], dtype=torch.float64))
    buffer.extend(3)
    aggregate = buffer.step(torch.tensor([[0.0, 0.0, 5.0]], dtype=torch.float64))
    assert aggregate.tolist() == [[1.0, 2.0, 5.0]]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"topC": -1}, "topC=-1"),
        ({"decay": 1.0}, r"decay=1.0: decay must lie in \[0.0, 1.0\)"),
        ({"decay": -0.1}, "decay=-0.1"),
        ({"decay": float("nan")}, "decay=nan"),
        ({"aggr": "average"}, "aggr='average': aggr must be one of"),
        ({"selection": "random"}, "selection='random'"),
        ({"replacement": "newest"}, "replacement='newest'"),
        ({"S": 0}, "S=0"),
        ({"d": 0}, "d=0"),
        ({"exact_sum_every": -1}, "exact_sum_every=-1"),
    ],
)
def test_invalid_arguments_raise(kwargs, message):
    arguments = {"S": 1, "d": 2, "topC": 2, "decay": 0.5, "aggr": "mean"}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        BatchedCriticalBuffer(**arguments)


def test_wrong_gradient_shape_raises():
    buffer = BatchedCriticalBuffer(2, 3, 2, 0.5, "mean")
    with pytest.raises(ValueError, match=r"expected \(S, d\) = \(2, 3\)"):
        buffer.step(torch.zeros(3, 2))


def test_generator_on_other_device_type_raises():
    with pytest.raises(ValueError, match="generator"):
        BatchedCriticalBuffer(1, 2, 2, 0.5, "mean", device="meta", generator=torch.Generator())
