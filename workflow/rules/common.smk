# Input functions over latent_atlas.planning (the tested planning code) and the results layout
# as the rules' outputs write it. No rules here.

import functools
from pathlib import Path

from snakemake.exceptions import WorkflowError

from latent_atlas import codedeps, formats, integrity, layout, planning

# PLAN (latent_atlas.planning.Plan) and SCHEDULE (latent_atlas.scheduling.Schedule) are made by
# the Snakefile from the validated config and the run's cores.


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[A-Za-z][A-Za-z0-9_-]*",
    method=planning.method_pattern(),  # a registered method, or a sweep's map of one
    sweep="[a-z][a-z0-9_]*",


def of_wildcard(plan_function, wildcard):
    """An input/params function: ``plan_function`` of one wildcard's value."""
    return lambda wildcards: plan_function(getattr(wildcards, wildcard))


dataset_inputs = of_wildcard(PLAN.dataset_inputs, "dataset")
dataset_spec = of_wildcard(PLAN.dataset_spec, "dataset")
model_spec = of_wildcard(PLAN.model_spec, "model")
method_params = of_wildcard(PLAN.method_params, "method")
field_inverse = of_wildcard(PLAN.field_inverse, "method")
neighbors_params = of_wildcard(PLAN.neighbors_params, "model")
project_threads = of_wildcard(SCHEDULE.project_threads, "method")
project_priority = of_wildcard(SCHEDULE.project_priority, "method")
project_env = of_wildcard(SCHEDULE.project_env, "method")
sweep_params = of_wildcard(PLAN.sweep_params, "sweep")
seed_similarity_params = of_wildcard(PLAN.seed_similarity_params, "sweep")


def script_code(script):
    """An input function: the package modules `workflow/scripts/{script}.py` imports, with
    only the registry entries the job uses (its method, its model's kind, its dataset's format;
    the study's where it has no such wildcard). Editing one reruns the jobs that use it
    (Snakemake itself reruns a job only when its script changes); adding an entry reruns none
    that do not use it."""
    path = Path(workflow.basedir) / "workflow" / "scripts" / f"{script}.py"

    def code(wildcards):
        entries = PLAN.code_entries(**dict(wildcards.items()))
        return codedeps.script_modules(path, relative_to=Path.cwd(), entries=entries)

    return code


def package_files(*names):
    """Files of the package (its templates) as inputs, placed like script_code's."""
    return codedeps.package_files(names, relative_to=Path.cwd())


def tf_threads(most):
    def threads(wildcards):
        return SCHEDULE.tf_threads(wildcards.model, most)

    return threads


def pixel_reference_input(wildcards):
    """The dataset's raw-pixel k-NN table, if the study reports it (computed once per dataset).
    A vectors dataset has none: its vectors are its codes, so the latent reference is it.
    """
    if not config["metrics"]["pixels_reference"] or pixels_are_codes(wildcards):
        return {}
    return {"pixels": expand(rules.pixel_reference.output.table, **wildcards)[0]}


def pixels_are_codes(wildcards):
    """A vectors dataset's model `none` maps the vectors themselves (scaled by one affine map):
    their k-NN reference is the codes' own, read from the shared graph, not searched again.
    """
    return PLAN.dataset_models(wildcards.dataset) == ["none"]


def pixel_graph(wildcards):
    """The pixels' kNN graph, where the study makes it (similarity with the pixels): the pixel
    reference votes among its test points' neighbours instead of searching again."""
    d = wildcards.dataset
    if not (PLAN.has_similarity(d) and PLAN.similarity_pixels(d)):
        return {}
    return {"graph": expand(rules.pixel_neighbors.output.graph, dataset=d)[0]}


def map_clusters(wildcards):
    """The clusters of a dataset's codes, where it has no labels (its maps are labelled by
    cluster); nothing for labelled data (by class)."""
    if not PLAN.clustered(wildcards.dataset):
        return {}
    return {"clusters": expand(rules.clusters.output.table, **wildcards)[0]}


def similarity_models(wildcards):
    return PLAN.similarity_models(wildcards.dataset)


def codes_and_graphs(keys):
    """The latent.npz and neighbors.npz of each (dataset, model), in that order."""
    return {
        "latent": [
            expand(rules.encode.output.latent, dataset=d, model=m)[0] for d, m in keys
        ],
        "graphs": [
            expand(rules.neighbors.output.graph, dataset=d, model=m)[0] for d, m in keys
        ],
    }


def similarity_inputs(wildcards):
    """The codes and kNN graphs of the models a dataset's similarity rule compares, and its
    pixels and their graph where they are one of the spaces."""
    d = wildcards.dataset
    files = codes_and_graphs([(d, m) for m in PLAN.similarity_models(d)])
    if PLAN.similarity_pixels(d):
        files["data"] = expand(rules.normalise.output.data, dataset=d)[0]
        files["pixel_graph"] = expand(rules.pixel_neighbors.output.graph, dataset=d)[0]
    return files


def holdout_model(wildcards):
    """The model trained without uses.anomaly_class, when anomaly detection is measured."""
    if not config["uses"]["anomaly"]:
        return {}
    return {"holdout": expand(rules.train_holdout.output.model, **wildcards)[0]}


def model_metric_tables(wildcards):
    tables = PLAN.model_tables(wildcards.dataset, wildcards.model)
    return expand(rules.map_metrics.output.table, method=tables, **wildcards)


def study_metric_tables():
    """Every model's metrics table, then each dataset's similarity rows."""
    models = [
        expand(rules.model_metrics.output.table, dataset=d, model=m)[0]
        for d, m in PLAN.study_pairs()
    ]
    pairs = [
        expand(rules.similarity.output.metrics, dataset=d)[0]
        for d in PLAN.similarity_datasets()
    ]
    return models + pairs


def sweep_data(wildcards):
    return expand(
        rules.normalise.output.data, dataset=PLAN.sweeps[wildcards.sweep].datasets
    )


def seed_similarity_inputs(wildcards):
    """The codes and kNN graphs of a sweep's replicas over the training seed."""
    p = PLAN.seed_similarity_params(wildcards.sweep)
    return codes_and_graphs(
        dict.fromkeys((g["dataset"], m) for g in p["groups"] for m in g["models"])
    )


def model_results(dataset, model):
    """One model's files by name, filled in from the rules that write them: the
    `results/{dataset}/{model}/...` layout lives in those rules' outputs only, and the study's
    files are these, its datasets' and its sweeps' (study_files)."""
    fill = {"dataset": dataset, "model": model}

    def per_method(output, names=PLAN.study_methods):
        return {m: expand(output, method=m, **fill)[0] for m in names}

    tables = PLAN.model_tables(dataset, model)
    files = {
        "data": expand(rules.normalise.output.data, **fill)[0],
        "latent": expand(rules.encode.output.latent, **fill)[0],
        "graph": expand(rules.neighbors.output.graph, **fill)[0],
        "maps": per_method(rules.project.output.projection),
        "local": per_method(rules.local_quality.output.table),
        "tables": per_method(rules.map_metrics.output.table, tables),
        "metrics": expand(rules.model_metrics.output.table, **fill)[0],
        "map_figures": per_method(rules.plot_map.output.png),
        "labels": per_method(rules.map_labels.output.labels),
        "density": per_method(rules.map_labels.output.density),
    }
    if PLAN.clustered(dataset):
        files["clusters"] = expand(rules.clusters.output.table, **fill)[0]
    if model in PLAN.similarity_models(dataset) and PLAN.has_similarity(dataset):
        files["similarity"] = expand(rules.similarity.output.points, **fill)[0]
    files["stability"] = {
        name: expand(rules.seed_similarity.output.stability, sweep=name)[0]
        for name in PLAN.seed_sweeps()
        if PLAN.sweeps[name].base == model and dataset in PLAN.sweeps[name].datasets
    }
    if PLAN.has_field(model):
        files["fields"] = per_method(rules.decode_field.output.field)
        files["field_codes"] = per_method(rules.field_codes.output.codes)
    # a vectors dataset's own codes (`none`) are mapped, not trained: no history, no uses
    if model == "none":
        return files
    files["history"] = expand(rules.train.output.history, **fill)[0]
    files["uses"] = expand(rules.use_inputs.output.inputs, **fill)[0]
    if config["uses"]["anomaly"]:
        files["holdout"] = expand(rules.train_holdout.output.model, **fill)[0]
    figures = {**rules.plot_model.output, "generated": rules.plot_generated.output.png}
    files["figures"] = {name: expand(f, **fill)[0] for name, f in figures.items()}
    for m, path in per_method(rules.plot_local.output.png).items():
        files["figures"][f"local quality: {m}"] = path
    return files


# What the atlas reads of a model's files (the rest would only hold it back).
ATLAS_FILES = ("data", "latent", "graph", "history", "maps", "local", "fields")
ATLAS_FILES += ("similarity", "stability", "labels", "density", "clusters")


def atlas_pairs():
    """The atlas's files, per "dataset/model" of the study."""
    return {
        f"{d}/{m}": {k: v for k, v in model_results(d, m).items() if k in ATLAS_FILES}
        for d, m in PLAN.study_pairs()
    }


def dataset_results(dataset):
    """A dataset's own files: its data, its figure of samples, its pixel reference, the judge
    of generated samples and the similarity of its spaces, where the study has them."""
    fill = {"dataset": dataset}

    def one(output):
        return expand(output, **fill)[0]

    files = {
        "data": one(rules.normalise.output.data),
        "figure": one(rules.plot_data.output.png),
    }
    vectors = PLAN.dataset_models(dataset) == ["none"]
    if config["metrics"]["pixels_reference"] and not vectors:
        files["pixels_reference"] = one(rules.pixel_reference.output.table)
    if PLAN.dataset_models(dataset) != ["none"]:
        files["judge"] = one(rules.fit_judge.output.judge)
    if PLAN.has_similarity(dataset):
        similarity = rules.similarity.output
        files["similarity"] = {key: one(similarity[key]) for key in similarity.keys()}
        if PLAN.similarity_pixels(dataset):
            files["pixels_graph"] = one(rules.pixel_neighbors.output.graph)
    return files


def sweep_results(name):
    """A sweep's files: its summary and figures, its maps and their metric tables, and where
    its grid varies the training seed, the similarity of the replicas' latent spaces."""
    outputs = {**rules.sweep_summary.output, **rules.plot_sweep.output}
    if PLAN.seed_replicas(name):
        outputs.update(rules.seed_similarity.output)
    files = {key: expand(pattern, sweep=name)[0] for key, pattern in outputs.items()}
    for key, rule_output in (
        ("tables", rules.map_metrics.output.table),
        ("projections", rules.project.output.projection),
    ):
        files[key] = {}
        for d, m, x in PLAN.sweep_maps_of(name):
            path = expand(rule_output, dataset=d, model=m, method=x)[0]
            files[key].setdefault(d, {}).setdefault(m, {})[x] = path
    return files


def sweep_inputs(*keys):
    """An input function: a sweep's files of ``keys``, as flat named inputs (latent_atlas.layout)."""

    def inputs(wildcards):
        files = sweep_results(wildcards.sweep)
        return layout.flatten({key: files[key] for key in keys})

    return inputs


def comparison_inputs(wildcards):
    """The comparison figure's files: every map of the study, each dataset's data (its class
    names) and the study's metrics table (the maps' titles), as flat named inputs."""
    models = {f"{d}/{m}": model_results(d, m) for d, m in PLAN.study_pairs()}
    return layout.flatten(
        {
            "maps": {key: files["maps"] for key, files in models.items()},
            "data": {
                d: dataset_results(d)["data"] for d in config["study"]["datasets"]
            },
            "metrics": str(rules.study_metrics.output.table),
        }
    )


def study_results():
    """Every file of the study by name: the metrics table, each dataset's and each model's
    files, the sweeps' and the downloads (their SHA-256s go into the report's provenance).
    """
    return {
        "metrics": str(rules.study_metrics.output.table),
        "comparison": dict(rules.plot_comparison.output.items()),
        "datasets": {d: dataset_results(d) for d in config["study"]["datasets"]},
        "models": {f"{d}/{m}": model_results(d, m) for d, m in PLAN.study_pairs()},
        "sweeps": {name: sweep_results(name) for name in PLAN.sweeps},
        "resources": PLAN.resources(),
    }


def job_of(path):
    """The benchmark file and every output of the job that writes ``path`` (its rule found by
    Snakemake's own matching; of two rules that match, the more specific one: ruleorder's
    data_codes), or None for a file no rule writes."""
    found = [r for r in workflow.rules if r.benchmark and r.is_producer(path)]
    if not found:
        return None
    producer = min(found, key=lambda r: len(r.wildcard_names))
    fill = producer.get_wildcards(path)
    outputs = [str(o.apply_wildcards(fill)) for o in producer.output]
    return str(producer.benchmark.apply_wildcards(fill)), outputs


@functools.cache
def study_files():
    """(the files of study_results, the other outputs of their jobs (an SVG beside a PNG, a
    holdout model's history), the benchmark files of those jobs), found once per run: the
    targets and the report's inputs both read it."""
    results = study_results()
    files = layout.files(results)
    jobs = [job for job in map(job_of, files) if job]
    known = set(files)
    others = [f for _, outputs in jobs for f in outputs if f not in known]
    # a job's timing where it has one, or will (a finished job whose benchmark file is gone is
    # not rerun for it: asking for the file would)
    timings = [
        bench
        for bench, outputs in jobs
        if Path(bench).exists() or not all(Path(f).exists() for f in outputs)
    ]
    return results, list(dict.fromkeys(others)), list(dict.fromkeys(timings))


def report_inputs(wildcards):
    """The report's files (study_results) as flat named inputs, with the benchmark of every job
    that wrote one of them (the report lists each job's time and memory) and that job's other
    outputs."""
    results, others, timings = study_files()
    return layout.flatten({**results, "outputs": others, "benchmarks": timings})


def atlas_inputs(wildcards):
    """The atlas's files (atlas_pairs) as flat named inputs."""
    return layout.flatten({"pairs": atlas_pairs()})


def all_targets():
    """What a bare `snakemake` builds: the deliverables (the report, the atlas, the metrics
    table, the sweeps' summaries and figures); every other file follows from their inputs. In a
    finished study (its deliverables there), a deleted file of the study is named too, so that
    it is rebuilt (Snakemake would leave it out while everything after it is up to date).
    Before that, no existing file of the study may be damaged (checked by the main process only:
    a cluster job's parse may see a file another job is writing)."""
    sweeps = [
        path
        for name in PLAN.sweeps
        for path in sweep_results(name).values()
        if isinstance(path, str)
    ]
    metrics = str(rules.study_metrics.output.table)
    figure = [*rules.plot_comparison.output]
    targets = [*rules.report.output, *figure, *rules.atlas.output, metrics, *sweeps]
    if not workflow.is_main_process:
        return targets
    results, others, _ = study_files()
    files = [*layout.files(results), *others]
    found = integrity.damaged(files)
    if found:
        raise WorkflowError(integrity.damage_message(found))
    if all(Path(t).exists() for t in targets):
        targets += [f for f in files if not Path(f).exists()]
    return targets
