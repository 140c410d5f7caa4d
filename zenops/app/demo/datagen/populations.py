"""The two demo populations: who they are and how their target comes about.

Each population is a generating process with two dials:

- ``covariate`` (0 = training, 1 = full documented shift) moves the feature
  distributions. The target is computed from the *observed* features and
  independent noise only, so ``P(target | features)`` does not change with it.
- ``concept`` (0 = training, 1 = full documented change) changes how the target
  depends on the features.

``kind`` chooses which covariate shift the ``covariate`` dial drives
(:data:`COVARIATE_KINDS`): ``standard`` (the documented default), ``within`` (inside
the range the training data covers well: a trained model keeps its performance) or
``beyond`` (into a region the training data covers thinly: a trained model loses
performance there, and retraining on the shifted rows repairs it).

Every random number is drawn up front, in a fixed order and amount, before either
dial is applied. The same generator state therefore gives the same applicants or
store-days at any drift level: a drifted day is the stable day, moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zenops.kernel.errors import ConfigError, NotFoundError

STANDARD, WITHIN, BEYOND = "standard", "within", "beyond"
COVARIATE_KINDS = (STANDARD, WITHIN, BEYOND)
"""The covariate shifts a population can be given; see :class:`~zenops.app.demo.datagen.DriftSchedule`."""

REGIONS = ("north", "south", "east", "west")
PURPOSES = ("car", "home", "education", "business", "debt_consolidation")
HOME_OWNERSHIP = ("rent", "own", "mortgage")
STORE_TYPES = ("mall", "street", "outlet")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class DemoModel:
    """The columns of a demo model, as its ``zenops.yaml`` entry names them."""

    name: str
    task: str
    target: str
    id_column: str
    timestamp_column: str
    numerical: tuple[str, ...]
    categorical: tuple[str, ...]
    metric: str
    id_prefix: str
    covariate_story: str
    concept_story: str
    within_story: str = ""
    beyond_story: str = ""

    @property
    def covariate_stories(self) -> dict[str, str]:
        """What each covariate kind (:data:`COVARIATE_KINDS`) moves, in words."""
        return {STANDARD: self.covariate_story, WITHIN: self.within_story, BEYOND: self.beyond_story}

    @property
    def features(self) -> list[str]:
        return [*self.numerical, *self.categorical]

    @property
    def feature_columns(self) -> list[str]:
        """Id, timestamp and features: the columns of a production batch."""
        return [self.id_column, self.timestamp_column, *self.features]

    def spec_fields(self) -> dict[str, object]:
        """The data keys of this model's ``zenops.yaml`` entry (no paths, trainer or policy)."""
        return {
            "name": self.name,
            "task": self.task,
            "target": self.target,
            "id_column": self.id_column,
            "timestamp_column": self.timestamp_column,
            "features": {"numerical": list(self.numerical), "categorical": list(self.categorical)},
            "metric": self.metric,
        }


LOAN = DemoModel(
    name="loan-default",
    task="classification",
    target="defaulted",
    id_column="loan_id",
    timestamp_column="applied_at",
    numerical=("income", "loan_amount", "age", "credit_score", "debt_to_income", "employment_years"),
    categorical=("region", "purpose", "home_ownership"),
    metric="roc_auc",
    id_prefix="L",
    covariate_story=(
        "income median falls by 25%, loan_amount median rises by 30%, and the region mix moves "
        "from north/south/east/west 30/25/25/20% to 15/20/25/40%; the default rate rises because "
        "applicants borrow more against less income, but the chance of default for a given "
        "applicant is unchanged"
    ),
    concept_story=(
        "the effect of debt_to_income flips (high ratios now go with fewer defaults), the effect of "
        "credit_score halves, and young renters (age under 30, home_ownership rent) default much "
        "more often (+1.5 on the log-odds)"
    ),
    within_story=(
        "the region mix moves from north/south/east/west 30/25/25/20% to 15/20/25/40% and the "
        "purpose mix from car 30% and debt_consolidation 25% to 15% and 40%, and half the "
        "would-be renters own their home (rent 38% to 19%): every applicant is of a kind the "
        "training data holds plenty of, so the model's ranking holds"
    ),
    beyond_story=(
        "a sub-prime channel: credit_score falls by 120 points (about 60% of the applicants lie below "
        "the training data's 5th percentile, where it holds few rows); below a score of 450 they are "
        "thin-file applicants, new to credit, whose risk falls as the score falls, the reverse of what "
        "the training data shows; the default rate rises from about 16.5% to 38%, and a model that "
        "never saw such scores ranks them backwards until it is retrained on them"
    ),
)

DEMAND = DemoModel(
    name="demand-forecast",
    task="regression",
    target="units_sold",
    id_column="record_id",
    timestamp_column="day",
    numerical=("price", "promo_depth", "temperature", "lag_7_units", "shelf_space"),
    categorical=("store_type", "region", "weekday"),
    metric="rmse",
    id_prefix="R",
    covariate_story=(
        "prices rise by 20%, the share of records on promotion rises from 25% to 45%, temperature "
        "rises by 6 °C, and the store_type mix moves from mall/street/outlet 30/50/20% to "
        "20/40/40%; the expected units for a given record are unchanged"
    ),
    concept_story=(
        "customers become far more price-sensitive (price elasticity from -0.8 to -2.0), "
        "promotions stop lifting sales, and the weekend lift moves to weekdays"
    ),
    within_story=(
        "temperature falls by 5 °C, the share of records on promotion rises from 25% to 35%, and "
        "the region mix moves from 25% each to north/south/east/west 10/40/15/35%, all inside "
        "the training data's range, so the model's forecasts hold"
    ),
    beyond_story=(
        "a discounter's prices, half the usual (a range the training data holds few rows of): "
        "units sold rise by about 74%, and a model that never saw such prices under-forecasts "
        "them until it is retrained on them"
    ),
)

MODELS: dict[str, DemoModel] = {LOAN.name: LOAN, DEMAND.name: DEMAND}


def demo_model(name: str) -> DemoModel:
    """The demo model called ``name``; :class:`NotFoundError` if there is none."""
    try:
        return MODELS[name]
    except KeyError:
        raise NotFoundError(f"no demo model named '{name}' (models: {', '.join(MODELS)})") from None


def _kinds(kind: str) -> tuple[str, ...]:
    if kind not in COVARIATE_KINDS:
        raise ConfigError(f"covariate kind must be one of {', '.join(COVARIATE_KINDS)}, not '{kind}'")
    return COVARIATE_KINDS


def _pick(uniform: np.ndarray, levels: tuple[str, ...], probs: np.ndarray) -> np.ndarray:
    """Categories by inverse CDF, so one uniform draw serves any mix of ``probs``."""
    probs = np.clip(probs, 0.0, None)
    cumulative = np.cumsum(probs / probs.sum())
    index = np.minimum(np.searchsorted(cumulative, uniform, side="right"), len(levels) - 1)
    return np.asarray(levels, dtype=object)[index]


def _mix(base: tuple[float, ...], shifted: tuple[float, ...], level: float) -> np.ndarray:
    start, end = np.asarray(base), np.asarray(shifted)
    return np.clip(start + level * (end - start), 0.0, None)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --- loan-default ---------------------------------------------------------------------------

_LOAN_REGION_P = (0.30, 0.25, 0.25, 0.20)
_LOAN_REGION_P_SHIFTED = (0.15, 0.20, 0.25, 0.40)
_LOAN_PURPOSE_P = (0.30, 0.20, 0.15, 0.10, 0.25)
# "within": a new mix of regions, purposes and home ownership, all well covered by the
# training data.
_LOAN_PURPOSE_P_WITHIN = (0.15, 0.20, 0.15, 0.10, 0.40)
_LOAN_RENT_WITHIN = 0.5  # share of would-be renters who own a home instead
# "beyond": a sub-prime channel. Credit scores 120 points lower put half the applicants
# below the training data's 5th percentile, where it holds few rows. Below a score of
# 450 the applicants are thin-file (new to credit, not bad payers): their risk falls as
# the score falls (_LOAN_THIN_FILE), the reverse of what the training data shows, so a
# model that never saw such scores ranks them backwards until it is retrained on them.
_LOAN_CREDIT_BEYOND = 120.0
_LOAN_THIN_FILE_BELOW = 450.0
_LOAN_THIN_FILE_SLOPE = -4.0  # log-odds per 65 points below _LOAN_THIN_FILE_BELOW, beside -1 above
_LOAN_INCOME_SHIFT = 0.75  # income median factor at full covariate drift
_LOAN_AMOUNT_SHIFT = 1.30  # loan_amount median factor at full covariate drift
_LOAN_PURPOSE_SIZE = {"car": 0.0, "home": 1.0, "education": -0.3, "business": 0.5, "debt_consolidation": -0.2}
_LOAN_PURPOSE_RISK = {"car": 0.0, "home": -0.3, "education": 0.2, "business": 0.5, "debt_consolidation": 0.35}
_LOAN_HOME_RISK = {"rent": 0.2, "own": -0.25, "mortgage": -0.1}
_LOAN_REGION_RISK = {"north": -0.1, "south": 0.15, "east": 0.0, "west": 0.05}
_LOAN_INTERCEPT = -2.45


def loan_population(
    rng: np.random.Generator, n: int, covariate: float = 0.0, concept: float = 0.0, kind: str = STANDARD
) -> pd.DataFrame:
    """``n`` loan applications (features and ``defaulted``), without id or timestamp.

    ``kind`` picks which covariate shift the ``covariate`` dial applies (see
    :data:`COVARIATE_KINDS`); at ``covariate=0`` every kind gives the same rows.
    """
    standard, within, beyond = (covariate if kind == k else 0.0 for k in _kinds(kind))
    u_region, u_purpose, u_home = rng.random(n), rng.random(n), rng.random(n)
    age_draw = rng.gamma(3.0, 7.0, n)
    employment_draw = rng.gamma(2.0, 3.5, n)
    income_noise = rng.normal(0.0, 0.45, n)
    amount_noise = rng.normal(0.0, 0.5, n)
    credit_noise = rng.normal(0.0, 55.0, n)
    dti_draw = rng.beta(2.2, 5.5, n)
    risk_noise = rng.normal(0.0, 0.5, n)
    u_label = rng.random(n)

    region = _pick(u_region, REGIONS, _mix(_LOAN_REGION_P, _LOAN_REGION_P_SHIFTED, standard + within))
    purpose = _pick(u_purpose, PURPOSES, _mix(_LOAN_PURPOSE_P, _LOAN_PURPOSE_P_WITHIN, within))
    age = np.minimum(18 + np.round(age_draw), 75).astype(np.int64)
    employment_years = np.round(np.minimum(employment_draw, np.maximum(age - 18, 0)), 1)
    p_rent = 0.10 + 0.75 * _sigmoid(-(age - 33) / 5.0)
    p_own = (1 - p_rent) / 3 + within * _LOAN_RENT_WITHIN * p_rent
    p_rent = p_rent * (1 - within * _LOAN_RENT_WITHIN)
    home_ownership = np.where(
        u_home < p_rent, "rent", np.where(u_home < p_rent + p_own, "own", "mortgage")
    ).astype(object)

    # Earning power is latent: the covariate shock moves observed income and loan size,
    # not the credit history that was built on it.
    log_earning = np.log(48_000) + 0.012 * (age - 40) - 0.0006 * (age - 40) ** 2 + 0.02 * employment_years
    log_earning = log_earning + income_noise
    income = np.round(np.exp(log_earning + standard * np.log(_LOAN_INCOME_SHIFT)), -1)
    size = np.array([_LOAN_PURPOSE_SIZE[p] for p in purpose])
    log_amount = log_earning + np.log(0.3) + size + amount_noise + standard * np.log(_LOAN_AMOUNT_SHIFT)
    loan_amount = np.clip(np.round(np.exp(log_amount), -2), 500.0, 750_000.0)
    credit_score = np.clip(
        np.round(600 + 1.6 * (age - 18) + 35 * (log_earning - np.log(48_000)) + credit_noise)
        - beyond * _LOAN_CREDIT_BEYOND,
        300,
        850,
    ).astype(np.int64)
    debt_to_income = np.round(dti_draw, 4)

    frame = pd.DataFrame(
        {
            "income": income,
            "loan_amount": loan_amount,
            "age": age,
            "credit_score": credit_score,
            "debt_to_income": debt_to_income,
            "employment_years": employment_years,
            "region": pd.array(region, dtype="str"),
            "purpose": pd.array(purpose, dtype="str"),
            "home_ownership": pd.array(home_ownership, dtype="str"),
        }
    )
    probability = _sigmoid(loan_log_odds(frame, concept) + risk_noise)
    frame["defaulted"] = (u_label < probability).astype(np.int64)
    return frame


def loan_log_odds(frame: pd.DataFrame, concept: float = 0.0) -> np.ndarray:
    """The log-odds of default from observed features alone (before the latent noise)."""
    z_credit = (frame["credit_score"].to_numpy() - 635) / 65
    z_dti = (frame["debt_to_income"].to_numpy() - 0.29) / 0.155
    z_lti = (np.log(frame["loan_amount"].to_numpy() / frame["income"].to_numpy()) - np.log(0.3)) / 0.7
    z_age = (frame["age"].to_numpy() - 39) / 12
    employment = np.minimum(frame["employment_years"].to_numpy(), 20) / 5
    young_renter = ((frame["age"].to_numpy() < 30) & (frame["home_ownership"].to_numpy() == "rent")) * 1.0
    thin_file = np.maximum(0.0, (_LOAN_THIN_FILE_BELOW - frame["credit_score"].to_numpy()) / 65)
    categorical = (
        frame["purpose"].map(_LOAN_PURPOSE_RISK).to_numpy(dtype=float)
        + frame["home_ownership"].map(_LOAN_HOME_RISK).to_numpy(dtype=float)
        + frame["region"].map(_LOAN_REGION_RISK).to_numpy(dtype=float)
    )
    return (
        _LOAN_INTERCEPT
        - 1.0 * (1 - 0.5 * concept) * z_credit
        + 0.85 * (1 - 2 * concept) * z_dti
        + 0.55 * z_lti
        - 0.2 * z_age
        + 0.2 * z_age**2
        - 0.15 * employment
        + categorical
        + 1.5 * concept * (young_renter - 0.2)
        + _LOAN_THIN_FILE_SLOPE * thin_file
    )


# --- demand-forecast ------------------------------------------------------------------------

_DEMAND_STORE_P = (0.30, 0.50, 0.20)
_DEMAND_STORE_P_SHIFTED = (0.20, 0.40, 0.40)
_DEMAND_REGION_P = (0.25, 0.25, 0.25, 0.25)
_DEMAND_PROMO_SHARE = 0.25
_DEMAND_PROMO_SHARE_SHIFTED = 0.45
_DEMAND_PRICE_SHIFT = 1.20
_DEMAND_TEMPERATURE_SHIFT = 6.0
# "within": a cooler season, more promotions and a new regional mix, all inside the
# training data's range.
_DEMAND_REGION_P_WITHIN = (0.10, 0.40, 0.15, 0.35)
_DEMAND_TEMPERATURE_WITHIN = -5.0
_DEMAND_PROMO_SHARE_WITHIN = 0.35
# "beyond": a discounter's prices, half the usual, where the training data holds few rows.
_DEMAND_PRICE_BEYOND = 0.5
_DEMAND_STORE_LEVEL = {"mall": 0.3, "street": 0.0, "outlet": -0.2}
_DEMAND_REGION_LEVEL = {"north": 0.0, "south": 0.1, "east": -0.1, "west": 0.05}
_DEMAND_WEEKEND = np.array([0, 0, 0, 0, 0.1, 0.45, 0.35])  # log-lift by weekday, Mon..Sun
_DEMAND_WEEKDAY_SHIFTED = np.array([0.25, 0.25, 0.25, 0.25, 0.25, -0.2, -0.3])


def demand_population(
    rng: np.random.Generator, n: int, covariate: float = 0.0, concept: float = 0.0, kind: str = STANDARD
) -> pd.DataFrame:
    """``n`` store-item-day records (features and ``units_sold``), without id or timestamp.

    ``kind`` picks which covariate shift the ``covariate`` dial applies (see
    :data:`COVARIATE_KINDS`); at ``covariate=0`` every kind gives the same rows.
    """
    standard, within, beyond = (covariate if kind == k else 0.0 for k in _kinds(kind))
    u_store, u_region, weekday_index = rng.random(n), rng.random(n), rng.integers(0, 7, n)
    shelf_draw = rng.gamma(4.0, 1.0, n)
    popularity = rng.normal(0.0, 0.6, n)
    lag_noise = rng.normal(0.0, 0.2, n)
    lag_counts = rng.random(n)
    price_noise = rng.normal(0.0, 0.5, n)
    u_promo, promo_draw = rng.random(n), rng.integers(1, 11, n)
    temperature_draw = rng.normal(15.0, 7.0, n)
    demand_noise = rng.normal(0.0, 0.25, n)
    u_units = rng.random(n)

    store_type = _pick(u_store, STORE_TYPES, _mix(_DEMAND_STORE_P, _DEMAND_STORE_P_SHIFTED, standard))
    region = _pick(u_region, REGIONS, _mix(_DEMAND_REGION_P, _DEMAND_REGION_P_WITHIN, within))
    weekday = np.asarray(WEEKDAYS, dtype=object)[weekday_index]
    shelf_space = np.round(0.5 + shelf_draw + np.where(store_type == "outlet", 1.0, 0.0), 1)
    price_factor = _DEMAND_PRICE_SHIFT**standard * _DEMAND_PRICE_BEYOND**beyond
    price = np.round(np.maximum(8.0 * np.exp(price_noise) * price_factor, 0.5), 2)
    promo_share = _DEMAND_PROMO_SHARE + standard * (_DEMAND_PROMO_SHARE_SHIFTED - _DEMAND_PROMO_SHARE)
    promo_share = promo_share + within * (_DEMAND_PROMO_SHARE_WITHIN - _DEMAND_PROMO_SHARE)
    promo_depth = np.where(u_promo < promo_share, promo_draw * 0.05, 0.0)
    temperature = np.round(
        temperature_draw + standard * _DEMAND_TEMPERATURE_SHIFT + within * _DEMAND_TEMPERATURE_WITHIN, 1
    )

    level = (
        np.log(25.0)
        + np.array([_DEMAND_STORE_LEVEL[s] for s in store_type])
        + np.array([_DEMAND_REGION_LEVEL[r] for r in region])
        + 0.4 * np.log(shelf_space / 4.5)
        + popularity
    )
    # Units sold a week earlier: the same weekday, the item's level, its own noise.
    lag_mean = np.exp(level + _DEMAND_WEEKEND[weekday_index] + lag_noise)
    lag_7_units = _poisson(lag_counts, lag_mean)

    frame = pd.DataFrame(
        {
            "price": price,
            "promo_depth": np.round(promo_depth, 2),
            "temperature": temperature,
            "lag_7_units": lag_7_units,
            "shelf_space": shelf_space,
            "store_type": pd.array(store_type, dtype="str"),
            "region": pd.array(region, dtype="str"),
            "weekday": pd.array(weekday, dtype="str"),
        }
    )
    mean = np.exp(demand_log_mean(frame, level, concept) + demand_noise)
    frame["units_sold"] = _poisson(u_units, mean)
    return frame


def demand_log_mean(frame: pd.DataFrame, level: np.ndarray, concept: float = 0.0) -> np.ndarray:
    """Log expected units from the features and the item's level (which ``lag_7_units`` reveals)."""
    weekday_index = frame["weekday"].map({w: i for i, w in enumerate(WEEKDAYS)}).to_numpy(dtype=int)
    weekday_lift = (1 - concept) * _DEMAND_WEEKEND + concept * _DEMAND_WEEKDAY_SHIFTED
    elasticity = -0.8 - 1.2 * concept
    return (
        level
        + weekday_lift[weekday_index]
        + elasticity * np.log(frame["price"].to_numpy() / 8.0)
        + 1.8 * (1 - concept) * frame["promo_depth"].to_numpy()
        + 0.02 * (frame["temperature"].to_numpy() - 15.0)
    )


def _poisson(uniform: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson counts by inverse CDF, so one uniform draw serves any mean."""
    from scipy.stats import poisson

    return np.maximum(poisson.ppf(uniform, mean), 0).astype(np.int64)


POPULATIONS = {LOAN.name: loan_population, DEMAND.name: demand_population}
