# cisflow: reads (or simulations) → labels → trained, evaluated and interpreted sequence models.
# Wiring only: every rule lives in workflow/rules/, every computation in src/cisflow/.
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from cisflow.config import check_inputs, validate_config

# The bundled demo, unless --configfile names another (then that one alone is used, not merged).
if not config:

    configfile: "config/config.yaml"


validate_config(config, "config")
check_inputs(config, "config")


include: "workflow/rules/common.smk"


if config["track"] == "simulation":

    include: "workflow/rules/simulate.smk"

else:

    include: "workflow/rules/reads.smk"
    include: "workflow/rules/peaks.smk"
    include: "workflow/rules/labels.smk"
    include: "workflow/rules/splits.smk"
    include: "workflow/rules/dream.smk"


include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/motifs.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        all_outputs(),
