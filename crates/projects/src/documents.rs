//! Documents attached to a project's stages. A file is kept in the library's storage (a
//! shared directory or S3, so every node reads it) under `projects/<sm3[..2]>/<sm3>` (the
//! same file attached twice is stored once), written whole before its record exists;
//! reading it back checks the hash, and a file that no longer matches is refused, never
//! served.

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
    fn key_of(hash: &str) -> String {
        format!("projects/{}/{hash}", &hash[..2])
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
        let size = bytes.len() as i64;
        let key = Self::key_of(&hash);
        // Stored by its hash: writing the same file again writes the same bytes.
        self.files.put_file(&key, bytes).await.map_err(|e| ProjectsError::Io(e.to_string()))?;
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
        let bytes = self
            .files
            .get_file(&Self::key_of(&record.sm3))
            .await
            .map_err(|e| ProjectsError::Io(format!("document {doc_id}: {e}")))?
            .ok_or_else(|| ProjectsError::Io(format!("document {doc_id}: its file is missing from the library")))?;
        if sm3_hex(&bytes) != record.sm3 {
            return Err(ProjectsError::Io(format!(
                "document {doc_id}: the stored file no longer matches its SM3 hash"
            )));
        }
        Ok(Document { record, bytes })
    }
}
