"""Alias moves of promotion and rollback, on a fake registry that keeps aliases in a dict."""

from __future__ import annotations

import pytest

from registry.promotion import promote, restore_aliases, roll_back
from registry.versions import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from zenops.kernel.errors import NotFoundError, StoreError, ZenopsError


class FakeRegistry:
    """The alias part of :class:`registry.adapters.mlflow.MlflowRegistry`.

    ``fail_on`` breaks one alias write.
    """

    def __init__(self, aliases: dict[str, str], fail_on: str | None = None) -> None:
        self.state = dict(aliases)
        self.fail_on = fail_on

    def aliases(self, model: str) -> dict[str, str]:
        return dict(self.state)

    def set_alias(self, model: str, alias: str, version: str) -> None:
        if alias == self.fail_on:
            self.fail_on = None
            raise StoreError(f"set {model}@{alias}: store down")
        self.state[alias] = version

    def delete_alias(self, model: str, alias: str) -> None:
        self.state.pop(alias, None)


def test_promotion_moves_champion_to_previous_and_challenger_to_champion() -> None:
    registry = FakeRegistry({CHAMPION: "1", CHALLENGER: "2", "staging": "2"})
    move = promote(registry, "m", "2", expected_champion="1")
    assert registry.state == {CHAMPION: "2", PREVIOUS_CHAMPION: "1", "staging": "2"}
    assert move.before == {CHAMPION: "1", CHALLENGER: "2"}  # only zenops' aliases are tracked
    assert (move.champion_from, move.champion_to) == ("1", "2")


def test_promotion_refuses_when_the_champion_moved() -> None:
    registry = FakeRegistry({CHAMPION: "3", CHALLENGER: "2"})
    with pytest.raises(ZenopsError, match="champion is version 3, not 1"):
        promote(registry, "m", "2", expected_champion="1")
    assert registry.state == {CHAMPION: "3", CHALLENGER: "2"}


def test_a_failed_move_restores_the_aliases() -> None:
    registry = FakeRegistry({CHAMPION: "1", CHALLENGER: "2"}, fail_on=CHAMPION)
    with pytest.raises(StoreError):
        promote(registry, "m", "2", expected_champion="1")
    assert registry.state == {CHAMPION: "1", CHALLENGER: "2"}


def test_restore_puts_back_exactly_the_snapshot() -> None:
    registry = FakeRegistry({CHAMPION: "2", PREVIOUS_CHAMPION: "1"})
    restore_aliases(registry, "m", {CHAMPION: "1", CHALLENGER: "2"})
    assert registry.state == {CHAMPION: "1", CHALLENGER: "2"}


def test_rollback_swaps_champion_and_previous_champion_and_twice_is_a_no_op() -> None:
    registry = FakeRegistry({CHAMPION: "2", PREVIOUS_CHAMPION: "1", CHALLENGER: "3"})
    move = roll_back(registry, "m")
    assert registry.state == {CHAMPION: "1", PREVIOUS_CHAMPION: "2", CHALLENGER: "3"}
    assert move.after == registry.state and (move.champion_from, move.champion_to) == ("2", "1")
    roll_back(registry, "m")
    assert registry.state == {CHAMPION: "2", PREVIOUS_CHAMPION: "1", CHALLENGER: "3"}


def test_rollback_without_a_previous_champion_is_a_clear_not_found() -> None:
    registry = FakeRegistry({CHAMPION: "1"})
    with pytest.raises(NotFoundError, match="no previous champion to roll back to"):
        roll_back(registry, "m")
    assert registry.state == {CHAMPION: "1"}
