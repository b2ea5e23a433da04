"""Real tables: categorical and missing values, multi-class, sparse input."""

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTEN, SMOTENC
from optuna.trial import FixedTrial
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

from autobalance import AutoBalancedClassifier
from autobalance._catalogue import RatioStrategy


@pytest.fixture
def mixed_frame():
    X, y = make_classification(
        n_samples=360,
        n_features=3,
        n_informative=3,
        n_redundant=0,
        weights=[0.88],
        random_state=0,
    )
    rng = np.random.default_rng(0)
    df = pd.DataFrame(X, columns=["x0", "x1", "x2"])
    # Categories carry signal so the encoders matter.
    df["colour"] = pd.Categorical(
        np.where(
            y == 1,
            rng.choice(["red", "blue"], len(y)),
            rng.choice(["red", "blue", "green"], len(y)),
        )
    )
    df["shape"] = pd.Series(
        rng.choice(["round", "square", None], len(y)), dtype="object"
    )
    df["size"] = pd.Series(rng.choice(["S", "M", "L"], len(y))).astype("string")
    df["flag"] = rng.random(len(y)) < 0.4
    df.loc[::11, "x0"] = np.nan
    df.loc[::13, "colour"] = np.nan
    return df, np.array(["negative", "positive"])[y]


def test_mixed_dataframe_with_missing_values(mixed_frame):
    df, y = mixed_frame
    clf = AutoBalancedClassifier(n_trials=14, cv=3, random_state=0).fit(df, y)
    res = pd.DataFrame(clf.cv_results_)
    assert (res.state != "FAIL").all(), res.loc[
        res.state == "FAIL", "fail_reason"
    ].tolist()
    assert set(clf.predict(df)) <= {"negative", "positive"}
    np.testing.assert_array_equal(clf.classes_, ["negative", "positive"])
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    assert clf.best_score_ > 0.7
    # Unknown categories and new gaps at predict time are handled.
    new = df.head(4).copy()
    new["colour"] = new["colour"].cat.add_categories(["purple"])
    new.loc[new.index[0], "colour"] = "purple"
    new.loc[new.index[1], "x1"] = np.nan
    assert clf.predict_proba(new).shape == (4, 2)


def test_neighbour_techniques_run_on_the_encoded_space(mixed_frame):
    df, y = mixed_frame
    techniques = [
        "tomek_links",
        "edited_nearest_neighbours",
        "cluster_centroids",
        "smote_tomek",
        "smote_enn",
        "random_over_sampler",
        "adasyn",
    ]
    clf = AutoBalancedClassifier(
        techniques=techniques, n_trials=14, cv=3, random_state=0
    ).fit(df, y)
    res = pd.DataFrame(clf.cv_results_)
    assert (res.state != "FAIL").all(), res.loc[
        res.state == "FAIL", "fail_reason"
    ].tolist()
    # ADASYN has no categorical variant: left out, with the reason.
    assert "categorical" in clf.excluded_techniques_["adasyn"]
    ros = res[res.technique == "random_over_sampler"]
    assert len(ros) > 0
    assert ros["param_shrinkage"].isna().all()
    # Smoothing the copies would turn category codes into values no category
    # has: the space never draws a shrinkage here, even when a trial asks.
    asked = {
        "technique": "random_over_sampler",
        "algorithm": "logistic_regression",
        "random_over_sampler__sampling_strategy": 1.0,
        "random_over_sampler__shrinkage_set": True,
        "random_over_sampler__shrinkage": 0.5,
        "logistic_regression__model__C": 1.0,
    }
    config = clf.search_space_.suggest(FixedTrial(asked))
    assert config.params["shrinkage"] is None
    params = {"technique": config.technique, "algorithm": config.algorithm}
    _, Xt, X_res = _codes_after_prepare(clf, df, y, {**params, **config.params})
    assert len(X_res) > len(Xt)
    for j in range(4):  # colour, shape, size, flag come first
        assert set(np.unique(X_res[:, j])) <= set(np.unique(Xt[:, j]))


def _codes_after_prepare(clf, df, y, params):
    est = clf._estimator_from_params(params)
    steps = dict(est.steps)
    Xt = steps["prepare"].fit_transform(df, y)
    sampler = steps["sampler"]
    X_res, _ = sampler.fit_resample(Xt, y)
    return sampler, Xt, X_res


def test_smotenc_keeps_categories_valid(mixed_frame):
    df, y = mixed_frame
    clf = AutoBalancedClassifier(techniques=["smote"], n_trials=2, cv=3, random_state=0)
    clf.fit(df, y)
    params = {
        "technique": "smote",
        "algorithm": "logistic_regression",
        "k_neighbors": 3,
        "sampling_strategy": 1.0,
    }
    sampler, Xt, X_res = _codes_after_prepare(clf, df, y, params)
    assert isinstance(sampler, SMOTENC)
    n_cat = 4  # colour, shape, size, flag come first
    synthetic = X_res[len(Xt) :]
    assert len(synthetic) > 0
    for j in range(n_cat):
        assert set(np.unique(synthetic[:, j])) <= set(np.unique(Xt[:, j]))


def test_smoten_when_every_column_is_categorical(mixed_frame):
    df, y = mixed_frame
    cats = df[["colour", "shape", "size", "flag"]]
    clf = AutoBalancedClassifier(techniques=["smote"], n_trials=2, cv=3, random_state=0)
    clf.fit(cats, y)
    params = {
        "technique": "smote",
        "algorithm": "extra_trees",
        "k_neighbors": 3,
        "sampling_strategy": 1.0,
    }
    sampler, Xt, X_res = _codes_after_prepare(clf, cats, y, params)
    assert isinstance(sampler, SMOTEN)
    for j in range(Xt.shape[1]):
        assert set(np.unique(X_res[:, j])) <= set(np.unique(Xt[:, j]))


def test_columns_are_checked_at_predict(mixed_frame):
    df, y = mixed_frame
    clf = AutoBalancedClassifier(LogisticRegression(), n_trials=2, cv=3, random_state=0)
    clf.fit(df[["x1", "x2"]].fillna(0), y)
    with pytest.raises(ValueError, match="x3"):
        clf.predict(df[["x1", "x2"]].assign(x3=1.0))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[["x2", "x1"]])
    full = AutoBalancedClassifier(n_trials=2, cv=3, random_state=0).fit(df, y)
    with pytest.raises(ValueError, match="pass a DataFrame"):
        full.predict(df.to_numpy())
    with pytest.raises(ValueError, match="colour"):
        full.predict(df.drop(columns="colour"))


def test_dates_and_object_arrays_are_refused(mixed_frame):
    df, y = mixed_frame
    with pytest.raises(ValueError, match=r"\['when'\] hold dates"):
        AutoBalancedClassifier(n_trials=2).fit(
            df.assign(when=pd.Timestamp("2024-01-01")), y
        )
    with pytest.raises(ValueError, match="pass a pandas DataFrame"):
        AutoBalancedClassifier(n_trials=2).fit(df.to_numpy(dtype=object), y)
    # An object array of numbers is fine.
    numbers = df[["x1", "x2"]].to_numpy(dtype=object)
    AutoBalancedClassifier(LogisticRegression(), n_trials=2, cv=3).fit(numbers, y)


def test_multiclass_balances_every_minority_and_reports_recall(multiclass_data):
    X, y = multiclass_data
    labels = np.array(["a", "b", "c"])[y]
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=[
            "random_over_sampler",
            "random_under_sampler",
            "custom_class_weight",
        ],
        n_trials=10,
        cv=3,
        random_state=0,
    ).fit(X, labels)
    res = clf.cv_results_
    folds = list(clf.cv_.split(X, labels))
    complete = np.flatnonzero(res["state"] == "COMPLETE")
    assert len(complete) >= 5
    # Each class's recall is the mean over the folds of the recall of that
    # class, recomputed from the setup refitted on each training fold.
    for i in complete:
        model = clf._estimator_from_params(res["params"][i])
        per_fold = [
            recall_score(
                labels[test],
                clone(model).fit(X[train], labels[train]).predict(X[test]),
                labels=clf.classes_,
                average=None,
            )
            for train, test in folds
        ]
        expected = np.mean(per_fold, axis=0)
        for j, label in enumerate(clf.classes_):
            got = res[f"mean_test_recall_{label}"][i]
            assert got == pytest.approx(expected[j], abs=1e-12), (i, label)
    # Balancing helps the rarest class: some setup beats the plain model on it.
    plain = list(res["technique"]).index("none")
    assert res["mean_test_recall_c"][complete].max() > res["mean_test_recall_c"][plain]
    # A float ratio over-samples every minority class, not only the smallest.
    ros = [
        p
        for i, p in enumerate(res["params"])
        if p["technique"] == "random_over_sampler"
    ]
    assert ros, "no random_over_sampler trial"
    for params in ros:
        ratio = params["sampling_strategy"]
        assert isinstance(ratio, float)
        sampler = dict(clf._estimator_from_params(params).steps)["sampler"]
        _, y_res = sampler.fit_resample(X, labels)
        counts = dict(zip(*np.unique(labels, return_counts=True), strict=True))
        counts_res = dict(zip(*np.unique(y_res, return_counts=True), strict=True))
        target = int(ratio * counts["a"])
        assert counts_res == {k: max(c, target) for k, c in counts.items()}


def test_ratio_strategy_per_class():
    y = np.array([0] * 100 + [1] * 20 + [2] * 5)
    over = RatioStrategy(0.5, "over")(y)
    assert over == {0: 100, 1: 50, 2: 50}
    under = RatioStrategy(0.5, "under")(y)
    # The classes already at or below the target are left out (kept as they are).
    assert under == {0: 10, 1: 10}


def test_sparse_input(binary_data):
    X, y = binary_data
    Xs = sparse.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    clf = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3, random_state=0)
    clf.fit(Xs, y)
    assert clf.predict_proba(Xs).shape == (Xs.shape[0], 2)
    assert "needs dense" in clf.excluded_techniques_["tomek_links"]
    with pytest.raises(ValueError, match=r"techniques \['smote'\] need dense"):
        AutoBalancedClassifier(LogisticRegression(), techniques=["smote"]).fit(Xs, y)
    with pytest.raises(ValueError, match="need dense data"):
        AutoBalancedClassifier(HistGradientBoostingClassifier()).fit(Xs, y)


def test_default_portfolio_on_sparse_input(binary_data):
    # Sparse text features (spam filters) with the default settings: the
    # portfolio keeps the models and the prepare step that take sparse input.
    X, y = binary_data
    Xs = sparse.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    clf = AutoBalancedClassifier(n_trials=4, cv=3, random_state=0)
    assert clf.__sklearn_tags__().input_tags.sparse
    clf.fit(Xs, y)
    assert {c["algorithm"] for c in clf.cv_results_["params"]} <= {
        "logistic_regression",
        "extra_trees",
        None,
    }
    proba = clf.predict_proba(Xs)
    assert proba.shape == (Xs.shape[0], 2)
    np.testing.assert_allclose(clf.predict_proba(Xs.tocsc()), proba)
    with pytest.raises(TypeError, match="dense data is required"):
        AutoBalancedClassifier(n_trials=2, cv=3, random_state=0).fit(X, y).predict(Xs)


def test_smote_is_left_out_on_large_tables_with_categories():
    # SMOTENC encodes the whole table as a sparse matrix: on large mixed data
    # the SMOTE family is left out with a size reason; numeric data keeps it.
    from autobalance import SearchContext, SearchSpace, get_technique
    from autobalance._catalogue import default_algorithms

    def excluded(n_rows, categorical):
        counts = np.array([n_rows - n_rows // 50, n_rows // 50])
        ctx = SearchContext(
            classes=np.array([0, 1]),
            class_counts=counts,
            min_train_counts=(counts * 0.8).astype(int),
            max_train_minority_ratio=float(counts[1] / counts[0]),
            n_samples=n_rows,
            n_features=5,
            categorical_positions=(0,) if categorical else (),
            n_prepared_features=5,
        )
        names = ["smote", "smote_tomek", "smote_enn", "random_over_sampler"]
        space = SearchSpace(
            [get_technique(n) for n in names], default_algorithms(), ctx
        )
        return space.excluded

    assert excluded(5_000, categorical=True) == {}
    assert excluded(80_000, categorical=False) == {}
    large = excluded(80_000, categorical=True)
    assert set(large) == {"smote", "smote_tomek", "smote_enn"}
    assert all("categorical columns" in r and "13 times" in r for r in large.values())


def test_one_hot_codes_match_one_hot_encoder_with_passthrough():
    import warnings

    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    from autobalance._preprocessing import OneHotCodes

    rng = np.random.default_rng(0)

    def table(n, low):
        codes = [rng.integers(low, 4, n), rng.integers(0, 2, n)]
        return np.column_stack([*codes, rng.normal(size=(n, 3))]).astype(float)

    X, X_new = table(500, 0), table(60, -1)  # -1 and 4: unknown at transform
    reference = ColumnTransformer(
        [
            (
                "one_hot",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                [0, 1],
            )
        ],
        remainder="passthrough",
        sparse_threshold=0.0,
    ).fit(X)
    encoder = OneHotCodes(n_codes=2).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OneHotEncoder warns of unknown codes
        expected = reference.transform(X_new)
    np.testing.assert_array_equal(encoder.transform(X_new), expected)
    assert len(encoder.get_feature_names_out()) == expected.shape[1]
    # float32 in (large data), float32 out, same values.
    single = OneHotCodes(n_codes=2).fit(X.astype(np.float32))
    out = single.transform(X_new.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="5 features"):
        encoder.transform(X_new[:, :4])


# -- missing values: judged by what the user's model does with them -------------
FAST = {"n_trials": 4, "cv": 3, "random_state": 0, "ensemble": False}


@pytest.fixture
def no_search(monkeypatch):
    import autobalance._plan as plan_module

    def forbidden(*args, **kwargs):
        raise AssertionError("the search started before the input was checked")

    monkeypatch.setattr(plan_module, "Objective", forbidden)


@pytest.fixture
def holes(binary_data):
    X, y = binary_data
    X = X.copy()
    X[::7, 2] = np.nan
    X[::11, 4] = np.nan
    return X, y


def test_imputing_pipeline_takes_missing_values_and_keeps_samplers(holes):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    X, y = holes
    model = make_pipeline(SimpleImputer(), LogisticRegression())
    clf = AutoBalancedClassifier(
        model, techniques=["smote", "random_under_sampler"], **FAST
    ).fit(X, y)
    # The sampler goes after the imputer: it never sees a missing value.
    assert not clf.search_space_.context.has_nan
    assert clf.excluded_techniques_ == {}
    assert clf.search_space_.compatible["smote"] == ["logistic_regression"]
    assert (np.asarray(clf.cv_results_["state"]) == "COMPLETE").all()
    new = X[:5].copy()
    new[:, 0] = np.nan  # a column without gaps in training
    np.testing.assert_allclose(clf.predict_proba(new).sum(axis=1), 1.0)


def test_pipeline_that_leaves_missing_values_is_refused(holes, no_search):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = holes
    model = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(
        ValueError,
        match=r"leave missing values, which LogisticRegression does not accept\)\. "
        r"X has missing values \(NaN\) in columns \[2, 4\]: impute them .*"
        r"SimpleImputer",
    ):
        AutoBalancedClassifier(model, **FAST).fit(X, y)
    frame = pd.DataFrame(X, columns=["a", "b", "income", "d", "age", "f"])
    with pytest.raises(ValueError, match=r"columns \['income', 'age'\]: impute"):
        AutoBalancedClassifier(model, **FAST).fit(frame, y)


def test_model_taking_missing_values_keeps_needing_finite_samplers_out(holes):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = holes
    # StandardScaler passes NaN on; the final model takes it. A Pipeline's own
    # allow_nan tag is False, which once emptied the space.
    model = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=10))
    clf = AutoBalancedClassifier(model, techniques=["smote"], **FAST).fit(X, y)
    assert clf.search_space_.context.has_nan
    assert clf.excluded_techniques_ == {"smote": "cannot handle missing values"}
    assert set(clf.cv_results_["technique"]) == {"none"}


def test_only_the_models_that_see_missing_values_lose_samplers(holes):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    X, y = holes
    clf = AutoBalancedClassifier(
        [
            ("lr", make_pipeline(SimpleImputer(), LogisticRegression())),
            ("hgb", HistGradientBoostingClassifier(max_iter=10)),
        ],
        techniques=["smote", "balanced_class_weight"],
        **FAST,
    ).fit(X, y)
    space = clf.search_space_
    assert not space.context.has_nan
    assert space.compatible["smote"] == ["lr"]
    assert space.compatible["balanced_class_weight"] == ["lr", "hgb"]
    assert "smote" in space.algorithms["hgb"].exclude_techniques
    assert "FAIL" not in set(clf.cv_results_["state"])


def test_text_column_with_none_and_a_plain_model_is_refused(no_search):
    # Every technique used to be left out, then every trial failed as
    # "4 x fail" with no cause.
    X, y = make_classification(n_samples=120, weights=[0.8], random_state=0)
    df = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    df["o"] = pd.Series(np.resize(["u", "v", None], len(df)), dtype=object)
    with pytest.raises(
        ValueError,
        match=r"'logistic_regression': LogisticRegression does not accept missing "
        r"values\)\. X has missing values \(NaN\) in columns \['o'\].*"
        r"Columns \['o'\] are not numeric: encode them .*OneHotEncoder",
    ):
        AutoBalancedClassifier(LogisticRegression(), **FAST).fit(df, y)
    with pytest.raises(
        ValueError,
        match=r"LogisticRegression raised ValueError: could not convert string to "
        r"float: 'u'\)\. Columns \['o'\] are not numeric",
    ):
        AutoBalancedClassifier(LogisticRegression(), **FAST).fit(df.fillna("w"), y)


def test_empty_space_is_refused_with_each_reason():
    from autobalance import Algorithm, SearchContext, SearchSpace, get_technique

    ctx = SearchContext(
        classes=np.array([0, 1]),
        class_counts=np.array([90, 10]),
        min_train_counts=np.array([60, 6]),
        max_train_minority_ratio=0.12,
        n_samples=100,
        n_features=5,
        has_nan=True,
    )
    techniques = [get_technique(n) for n in ("none", "smote")]
    with pytest.raises(
        ValueError,
        match=r"No technique applies to this data.*none \(no model of the portfolio "
        r"accepts this data\); smote \(cannot handle missing values\)\. Pass models "
        r"that accept the data",
    ):
        SearchSpace(techniques, [Algorithm("lr", LogisticRegression())], ctx)


class _FailsOnNaN(HistGradientBoostingClassifier):
    def fit(self, X, y, sample_weight=None):
        raise RuntimeError("boom: cannot fit")


def test_failed_search_lists_failures_and_left_out_techniques(holes):
    from autobalance import NoCompletedTrialsError

    X, y = holes
    clf = AutoBalancedClassifier(
        _FailsOnNaN(), techniques=["smote", "balanced_class_weight"], **FAST
    )
    with pytest.raises(
        NoCompletedTrialsError,
        match=r"\(4 x RuntimeError: boom: cannot fit\)\. Left out of the search: "
        r"smote \(cannot handle missing values\)\. Fix the cause",
    ):
        clf.fit(X, y)


# -- found by the property-based suite (tests/test_properties.py) ---------------
def _categories(rng, n):
    return pd.Categorical(rng.choice(["a", "b", "c"], n))


def test_integer_column_names_select_the_right_columns(rng):
    # A ColumnTransformer reads integer names as positions: columns named
    # [2, 1] were taken for positions 2 and 1, and every trial failed.
    n = 150
    y = np.r_[np.zeros(120, dtype=int), np.ones(30, dtype=int)]
    df = pd.DataFrame({2: _categories(rng, n), 1: rng.normal(size=n) + y})
    clf = AutoBalancedClassifier(**FAST).fit(df, y)
    assert "FAIL" not in set(clf.cv_results_["state"])
    np.testing.assert_allclose(clf.predict_proba(df.head(3)).sum(axis=1), 1.0)


def test_duplicated_column_names_are_refused(rng, no_search):
    df = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "a"])
    y = np.r_[np.zeros(50, dtype=int), np.ones(10, dtype=int)]
    with pytest.raises(
        ValueError, match=r"Column names \['a'\] appear more than once .*unique name"
    ):
        AutoBalancedClassifier(**FAST).fit(df, y)


@pytest.mark.parametrize("container", ["array", "sparse", "frame"])
def test_a_table_with_no_values_is_refused(container, no_search):
    X = np.full((60, 2), np.nan)
    X = {
        "array": X,
        "sparse": sparse.csr_matrix(X),
        "frame": pd.DataFrame(X, columns=["a", "b"]),
    }[container]
    y = np.r_[np.zeros(50, dtype=int), np.ones(10, dtype=int)]
    with pytest.raises(
        ValueError, match=r"is missing in every row.*pass columns that hold values"
    ):
        AutoBalancedClassifier(**FAST).fit(X, y)


def test_queued_trials_are_not_counted_as_causes(binary_data):
    from autobalance import NoCompletedTrialsError

    X, y = binary_data
    # 3 trials run; the other starting points stay queued and never run.
    clf = AutoBalancedClassifier(
        [("a", _FailsOnNaN()), ("b", _FailsOnNaN())],
        techniques=["balanced_class_weight"],
        n_trials=3,
        cv=3,
        ensemble=False,
    )
    with pytest.raises(NoCompletedTrialsError) as info:
        clf.fit(X, y)
    message = str(info.value)
    assert "out of 3 (3 x RuntimeError: boom: cannot fit)" in message
    assert "waiting" not in message


def test_categorical_next_to_bool_column(rng):
    # Input validation turned the table into one array, which failed for a
    # categorical column next to a bool one ("Cannot cast str dtype to float64").
    n = 120
    y = np.r_[np.zeros(100, dtype=int), np.ones(20, dtype=int)]
    colour = rng.choice(["red", "blue"], n).astype(object)
    colour[::5] = None
    df = pd.DataFrame({"colour": pd.Categorical(colour), "flag": rng.random(n) < 0.5})
    clf = AutoBalancedClassifier(**FAST).fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["colour", "flag"])
    np.testing.assert_allclose(clf.predict_proba(df.head(3)).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="flag"):
        clf.predict(df.drop(columns="flag"))


def test_numeric_prepare_drops_a_column_with_no_value_quietly():
    import warnings

    from autobalance._preprocessing import NumericPrepare

    # A column missing on every row of a training fold is dropped (its
    # indicator stays), as SimpleImputer does, without numpy's "All-NaN
    # slice" warning on every such fold.
    X = np.c_[np.full(10, np.nan), np.arange(10.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare = NumericPrepare().fit(X)
        out = prepare.transform(np.array([[np.nan, 3.0], [5.0, 4.0]]))
    assert out.shape == (2, 2)  # the values of column 1, the indicator of 0
    assert not np.isnan(out).any()
    assert list(prepare.indicator_features_) == [0]
