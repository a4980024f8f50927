//! The `external` subcommands: source tables that SQL over the library reads in place
//! (logical centralization), beside the tables copied into the library.

use anyhow::Result;
use clap::Subcommand;
use tongshu_external::ExternalTables;
use tongshu_store::MetaStore;

use crate::Common;

#[derive(Subcommand)]
pub enum ExternalCmd {
    /// Register a source's table as an external table: `tongshu sql`, the SQL console and
    /// interface views then read it in place (filters and columns pushed to the source),
    /// joined with library tables, under the same row and time limits. Administrators only.
    Add {
        #[command(flatten)]
        common: Common,
        /// The name SQL uses (like a library table's: lowercase letters, digits, '_').
        #[arg(long)]
        name: String,
        /// The data source (`tongshu source add`).
        #[arg(long)]
        source: String,
        /// The source's table: `schema.table` (PostgreSQL) or `table` (MySQL/MariaDB).
        #[arg(long)]
        table: String,
        /// Act as this user (default: the first platform administrator).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// List the external tables.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Forget an external table (the source's table is untouched).
    Remove {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
}

impl ExternalCmd {
    pub fn common(&self) -> &Common {
        match self {
            ExternalCmd::Add { common, .. } | ExternalCmd::List { common, .. } | ExternalCmd::Remove { common, .. } => {
                common
            }
        }
    }
}

pub async fn external(cmd: ExternalCmd, store: MetaStore, ext: ExternalTables) -> Result<()> {
    match cmd {
        ExternalCmd::Add { name, source, table, as_user, .. } => {
            let who = crate::library::principal(&store, as_user.as_deref()).await?;
            let t = ext.add(&who, &name, &source, &table).await?;
            say!("external table {} reads {} of data source {source} in place", t.name, t.source_table);
            Ok(())
        }
        ExternalCmd::List { json, .. } => {
            let all = ext.list().await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            say!("{:<24} {:<10} {:<32} created by", "name", "source id", "source table");
            for t in all {
                say!("{:<24} {:<10} {:<32} {}", t.name, t.source_id, t.source_table, t.created_by);
            }
            Ok(())
        }
        ExternalCmd::Remove { name, as_user, .. } => {
            let who = crate::library::principal(&store, as_user.as_deref()).await?;
            ext.remove(&who, &name).await?;
            say!("forgot external table {name}");
            Ok(())
        }
    }
}
