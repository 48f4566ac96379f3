"""One ingest asset per export: load the files of exports/<source>/ into raw.<source>."""

import dagster as dg
from dagster import AssetExecutionContext

from healthmart.core.contract import (
    ACCOUNTS_SOURCE,
    CROSSWALK_SOURCE,
    SOURCES,
    Source,
    names_accounts,
)
from healthmart.core.resources import HealthmartSettings, warehouse_connection
from healthmart.defs.ingest.config import IngestConfigError, load_ingest_config
from healthmart.defs.ingest.load import ingest_source
from healthmart.defs.ingest.preset import PresetError, load_presets


def build_ingest_asset(source: Source) -> dg.AssetsDefinition:
    # Rows naming an account are matched and checked against the accounts and the crosswalk
    # as loaded: those two load first.
    references = [ACCOUNTS_SOURCE, CROSSWALK_SOURCE] if names_accounts(source) else []

    @dg.asset(
        key=["raw", source.name],
        deps=[dg.AssetKey(["raw", name]) for name in references],
        group_name="ingest",
        description=(
            f"{source.description} Every file of exports/{source.name}/ (CSV, CSV.gz, Parquet, "
            "NDJSON) loaded into raw."
            f"{source.name}, idempotent by file content; bad rows go to ingest_meta.quarantine. "
            "Column names, encoding and delimiter may be mapped in the ingest config "
            "(HEALTHMART_INGEST_CONFIG); vendor exports are read through format presets "
            "(built-in, and HEALTHMART_PRESETS_DIR)."
            + (
                " Rows of accounts not in the accounts export are quarantined "
                "(unknown_account); with an account_match, each tool's id is matched to "
                "account_id through the accounts export and the crosswalk."
                if references
                else ""
            )
        ),
        kinds={"duckdb", "python"},
    )
    def _ingest(
        context: AssetExecutionContext, settings: HealthmartSettings
    ) -> dg.MaterializeResult:
        resolved = settings.resolve()
        try:
            config = load_ingest_config(*resolved.ingest_config_location())
            presets = load_presets(resolved.presets_dir)
        except (IngestConfigError, PresetError) as exc:
            raise dg.Failure(description=str(exc)) from exc
        with warehouse_connection(resolved) as con:
            # One load id per run: the load log groups the files of all sources of a run.
            result = ingest_source(
                con,
                source.name,
                resolved.exports_dir,
                config=config,
                load_id=context.run.run_id,
                presets=presets,
                future_tolerance_days=resolved.future_tolerance_days,
            )
        for error in result.errors:
            context.log.error(error)
        for file in result.files:
            if file.rows_quarantined:
                context.log.warning(
                    f"{file.file}: {file.rows_quarantined} of {file.rows_read} rows quarantined "
                    f"({file.quarantined_by_rule or 'see ingest_meta.quarantine'})"
                )
        changed = [f.changed_from for f in result.files if f.changed_from is not None]
        return dg.MaterializeResult(
            metadata={
                "files": len(result.files),
                "files_loaded": sum(1 for f in result.files if f.status == "loaded"),
                "files_unchanged": sum(1 for f in result.files if f.status == "skipped_unchanged"),
                "files_removed": sum(1 for f in result.files if f.status == "removed"),
                "files_with_errors": len(result.errors),
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
                "changed_from": min(changed).isoformat() if changed else "no change",
                "ingest_config": str(config.path) if config.path else "none",
                "presets": ", ".join(sorted({f.preset for f in result.files if f.preset}))
                or "none",
                "errors": dg.MetadataValue.md("\n".join(f"- {e}" for e in result.errors) or "none"),
            }
        )

    return _ingest


ingest_assets = [build_ingest_asset(source) for source in SOURCES.values()]
