# Input functions over latent_atlas.planning (the tested planning code) and the results layout
# as the rules' outputs write it. No rules here.

from pathlib import Path

from snakemake.exceptions import WorkflowError

from latent_atlas import codedeps, formats, integrity, planning

# PLAN (latent_atlas.planning.Plan) is made by the Snakefile from the validated config.


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
neighbors_params = of_wildcard(PLAN.neighbors_params, "model")
project_threads = of_wildcard(PLAN.project_threads, "method")
project_priority = of_wildcard(PLAN.project_priority, "method")
project_env = of_wildcard(PLAN.project_env, "method")
sweep_params = of_wildcard(PLAN.sweep_params, "sweep")
seed_similarity_params = of_wildcard(PLAN.seed_similarity_params, "sweep")


def script_code(script):
    """The package modules `workflow/scripts/{script}.py` imports, as inputs: editing one
    reruns the rule (Snakemake itself reruns a job only when its script changes)."""
    path = Path(workflow.basedir) / "workflow" / "scripts" / f"{script}.py"
    return codedeps.script_modules(path, relative_to=Path.cwd())


def package_files(*names):
    """Files of the package (its templates) as inputs, placed like script_code's."""
    return codedeps.package_files(names, relative_to=Path.cwd())


def tf_threads(most):
    def threads(wildcards):
        return PLAN.tf_threads(wildcards.model, most)

    return threads


def pixel_reference_input(wildcards):
    """The dataset's raw-pixel k-NN table, if the study reports it (computed once per dataset)."""
    if not config["metrics"]["pixels_reference"]:
        return {}
    return {"pixels": expand(rules.pixel_reference.output.table, **wildcards)[0]}


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


def sweep_files(wildcards, output):
    return [
        expand(output, dataset=d, model=m, method=x)[0]
        for d, m, x in PLAN.sweep_maps_of(wildcards.sweep)
    ]


def sweep_tables(wildcards):
    return sweep_files(wildcards, rules.map_metrics.output.table)


def sweep_projections(wildcards):
    return sweep_files(wildcards, rules.project.output.projection)


def sweep_data(wildcards):
    return expand(
        rules.normalise.output.data, dataset=PLAN.sweeps[wildcards.sweep].datasets
    )


def sweep_outputs(name):
    """A sweep's files: its summary and figures, and where its grid varies the training seed,
    the similarity of the replicas' latent spaces."""
    files = [*rules.sweep_summary.output, *rules.plot_sweep.output]
    if PLAN.seed_replicas(name):
        files += [*rules.seed_similarity.output]
    return expand(files, sweep=name)


def seed_similarity_inputs(wildcards):
    """The codes and kNN graphs of a sweep's replicas over the training seed."""
    p = PLAN.seed_similarity_params(wildcards.sweep)
    return codes_and_graphs(
        dict.fromkeys((g["dataset"], m) for g in p["groups"] for m in g["models"])
    )


def model_results(dataset, model):
    """One model's result files by name, filled in from the rules that write them: the
    `results/{dataset}/{model}/...` layout lives in those rules' outputs only."""
    fill = {"dataset": dataset, "model": model}
    maps = rules.project.output.projection
    files = {
        "data": expand(rules.normalise.output.data, **fill)[0],
        "latent": expand(rules.encode.output.latent, **fill)[0],
        "graph": expand(rules.neighbors.output.graph, **fill)[0],
        "history": None,
        "maps": {m: expand(maps, method=m, **fill)[0] for m in PLAN.study_methods},
        "local": {
            m: expand(rules.local_quality.output.table, method=m, **fill)[0]
            for m in PLAN.study_methods
        },
        "figures": {},
        "fields": {},
    }
    if dataset in PLAN.similarity_datasets() and model in PLAN.similarity_models(
        dataset
    ):
        files["similarity"] = expand(rules.similarity.output.points, **fill)[0]
    files["stability"] = {
        name: expand(rules.seed_similarity.output.stability, sweep=name)[0]
        for name in PLAN.seed_sweeps()
        if PLAN.sweeps[name].base == model and dataset in PLAN.sweeps[name].datasets
    }
    if PLAN.has_field(model):
        field = rules.decode_field.output.field
        files["fields"] = {
            m: expand(field, method=m, **fill)[0] for m in PLAN.study_methods
        }
    if model == "none":  # a vectors dataset's own codes: mapped, not trained
        return files
    figures = {**rules.plot_model.output, "generated": rules.plot_generated.output.png}
    files["history"] = expand(rules.train.output.history, **fill)[0]
    names = planning.MODEL_FIGURES
    files["figures"] = {name: expand(figures[name], **fill)[0] for name in names}
    local = rules.plot_local.output.png
    for m in PLAN.study_methods:
        title = f"local quality: {m}"
        files["figures"][title] = expand(local, method=m, **fill)[0]
    return files


def atlas_pairs():
    """The atlas's inputs by name, per "dataset/model" of the study."""
    return {f"{d}/{m}": model_results(d, m) for d, m in PLAN.study_pairs()}


def report_results():
    """The report's files by name: the study table, each dataset's data and sample figure, and
    each "dataset/model"'s results (model_results)."""
    datasets = config["study"]["datasets"]
    return {
        "metrics": str(rules.study_metrics.output.table),
        "data": {
            d: expand(rules.normalise.output.data, dataset=d)[0] for d in datasets
        },
        "data_figures": {
            d: expand(rules.plot_data.output.png, dataset=d)[0] for d in datasets
        },
        "models": atlas_pairs(),
        "sweeps": {s: str(Path(sweep_outputs(s)[0]).parent) for s in PLAN.sweeps},
        "similarity": {
            d: {
                "table": expand(rules.similarity.output.table, dataset=d)[0],
                "png": expand(rules.similarity.output.png, dataset=d)[0],
            }
            for d in PLAN.similarity_datasets()
        },
    }


def atlas_inputs(wildcards):
    """Every file the atlas reads (the same files as atlas_pairs, flat, for the DAG)."""
    pairs = atlas_pairs().values()
    return {
        "data": sorted({p["data"] for p in pairs}),
        "latent": [p["latent"] for p in pairs],
        "graphs": [p["graph"] for p in pairs],
        "local": [path for p in pairs for path in p["local"].values()],
        "fields": [path for p in pairs for path in p["fields"].values()],
        "maps": [path for p in pairs for path in p["maps"].values()],
        "similarity": sorted({p["similarity"] for p in pairs if p.get("similarity")}),
        "stability": sorted({f for p in pairs for f in p["stability"].values()}),
    }


def report_inputs(wildcards):
    """Every file the report reads (report_results, flattened for the DAG), plus the sweeps'
    outputs and the downloads whose SHA-256s go into its provenance."""
    results = report_results()
    models = results["models"].values()
    return {
        "metrics": results["metrics"],
        "projections": [p for files in models for p in files["maps"].values()],
        "model_figures": [p for files in models for p in files["figures"].values()],
        "histories": [files["history"] for files in models if files["history"]],
        "data": list(results["data"].values()),
        "data_figures": list(results["data_figures"].values()),
        "sweeps": [f for s in PLAN.sweeps for f in sweep_outputs(s)],
        "similarity": [
            f for files in results["similarity"].values() for f in files.values()
        ],
        "resources": PLAN.resources(),
    }


def all_targets():
    """What a bare `snakemake` builds: every file of the study, intermediates included (a
    deleted one is rebuilt), once none of those that exist is damaged (checked by the main
    process only: a cluster job's parse may see a file another job is writing)."""
    files = [
        path
        for rule, fill in PLAN.study_jobs()
        for path in expand(list(getattr(rules, rule).output), **fill)
    ]
    found = integrity.damaged(files) if workflow.is_main_process else []
    if found:
        raise WorkflowError(integrity.damage_message(found))
    return files
