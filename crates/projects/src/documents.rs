//! Documents attached to a project's stages. A file is kept under the projects directory
//! by its SM3 hash (so the same file attached twice is stored once), written to a
//! temporary name and renamed, so a crash leaves no half file under a hash; reading it
//! back checks the hash, and a file that no longer matches is refused, never served.

use sm3::{Digest, Sm3};
use tongshu_core::policy::Principal;
use tongshu_core::projects::document_kind;
use tongshu_store::ProjectDocument;

use crate::{ProjectsError, ProjectsService, Result, forbidden, invalid};

/// A document's record and its bytes.
#[derive(Debug, Clone)]
pub struct Document {
    pub record: ProjectDocument,
    pub bytes: Vec<u8>,
}

fn sm3_hex(bytes: &[u8]) -> String {
    hex::encode(Sm3::digest(bytes))
}

impl ProjectsService {
    fn path_of(&self, hash: &str) -> std::path::PathBuf {
        self.files.join(&hash[..2]).join(hash)
    }

    /// Attaches a document of `kind` (see `core::projects::DOCUMENT_KINDS`) to the
    /// project's current stage: its department, or the bureau.
    pub async fn attach(
        &self,
        who: &Principal,
        id: i64,
        kind: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<ProjectDocument> {
        let p = self.readable(who, id).await?;
        if !(who.proposes_for(p.org_id) || who.manages_projects() || who.evaluates_projects()) {
            return Err(forbidden("only the project's department, the bureau or the evaluation body attach documents"));
        }
        if document_kind(kind).is_none() {
            return Err(invalid("kind", format!("未知的文档类型 {kind:?}")));
        }
        let name = file_name.trim().rsplit(['/', '\\']).next().unwrap_or("").to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid("file_name", "文件名须为 1 到 200 个字"));
        }
        if bytes.is_empty() {
            return Err(invalid("file", "文件为空"));
        }
        let hash = sm3_hex(&bytes);
        let path = self.path_of(&hash);
        let size = bytes.len() as i64;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if path.exists() {
                return Ok(());
            }
            let dir = path.parent().expect("a hash path has a folder");
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(
                ".{}.{}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("f"),
                std::process::id()
            ));
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(|e| ProjectsError::Io(e.to_string()))?
        .map_err(|e| ProjectsError::Io(e.to_string()))?;
        let doc = self.store.add_project_document(id, p.stage, kind, &name, &hash, size, &who.username).await?;
        self.store
            .add_project_event(
                id,
                p.stage,
                "document",
                &who.username,
                &format!("{} {name}", document_kind(kind).unwrap_or(kind)),
            )
            .await?;
        Ok(doc)
    }

    /// A document and its bytes, if `who` may read its project and the file still matches
    /// its hash.
    pub async fn document(&self, who: &Principal, doc_id: i64) -> Result<Document> {
        let record = self.store.get_project_document(doc_id).await?;
        self.readable(who, record.project_id).await?;
        let path = self.path_of(&record.sm3);
        let bytes = tokio::fs::read(&path).await.map_err(|e| ProjectsError::Io(format!("document {doc_id}: {e}")))?;
        if sm3_hex(&bytes) != record.sm3 {
            return Err(ProjectsError::Io(format!(
                "document {doc_id}: the stored file no longer matches its SM3 hash"
            )));
        }
        Ok(Document { record, bytes })
    }
}
