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
    assert under == {0: 10, 1: 10, 2: 5}


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
