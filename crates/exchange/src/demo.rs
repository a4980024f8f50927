//! The demo city's sharing: the medical-insurance bureau holds a narrowed grant on the
//! public security bureau's residents and has called it; the rural commercial bank holds
//! a grant on firm registrations; the civil affairs bureau waits for an answer; a demand, a
//! duty and an objection are on the lists. Seeded once, through the real service.

use std::collections::BTreeMap;

use tongshu_core::policy::Principal;
use tongshu_store::MetaStore;

use crate::{Consumer, DecisionInput, Exchange, ObjectionInput, RequestInput, Result, ScopeCondition};

async fn principal(store: &MetaStore, username: &str) -> Result<Option<Principal>> {
    Ok(store.list_users().await?.into_iter().find(|u| u.username == username).map(|u| u.principal()))
}

async fn entry_of(store: &MetaStore, table: &str) -> Result<Option<i64>> {
    Ok(store.get_table(table).await?.and_then(|t| t.entry_id))
}

impl Exchange {
    /// Seeds the demo's sharing once; does nothing without the demo accounts and tables.
    pub async fn seed_demo(&self) -> Result<bool> {
        let store = &self.store;
        let (Some(ybj), Some(gaj), Some(nsh), Some(mzj), Some(admin)) = (
            principal(store, "consumer.ybj").await?,
            principal(store, "officer.gaj").await?,
            principal(store, "consumer.nsh").await?,
            principal(store, "officer.mzj").await?,
            principal(store, "admin").await?,
        ) else {
            return Ok(false);
        };
        let (Some(people), Some(firms), Some(insured)) = (
            entry_of(store, "gaj_huji_renkou").await?,
            entry_of(store, "swj_nashuiren").await?,
            entry_of(store, "ybj_yibao_canbao").await?,
        ) else {
            return Ok(false);
        };
        if !store.meta_set_once("exchange_demo_seeded", "1").await? {
            return Ok(false);
        }
        let ask = |entry_id: i64, purpose: &str, basis: &str, items: &[&str]| RequestInput {
            entry_id,
            purpose: purpose.into(),
            legal_basis: Some(basis.into()),
            items: items.iter().map(|s| s.to_string()).collect(),
            consuming_system: Some("业务系统".into()),
            ..Default::default()
        };
        let r =
            self.request(&ybj, &ask(people, "参保人员身份核验与死亡人员清理", "《社会保险法》第八十一条", &[])).await?;
        let d = DecisionInput {
            approve: true,
            answer: "同意，限身份核验所需信息项与兰山区".into(),
            items: Some(vec!["姓名".into(), "公民身份号码".into(), "出生日期".into(), "户籍地址".into()]),
            row_filter: vec![ScopeCondition {
                column: "户籍地址".into(),
                op: "contains".into(),
                value: "兰山区".into(),
            }],
            verify_items: Some(vec!["公民身份号码".into(), "姓名".into()]),
            ..Default::default()
        };
        self.decide(&gaj, r.id, &d).await?;
        // The bank's request for taxpayer registrations, shared unconditionally: granted at once.
        self.request(&nsh, &ask(firms, "企业贷款贷前核查", "《商业银行法》第三十五条", &[])).await?;
        // Waiting for the provider: civil affairs asks the insurance bureau.
        self.request(
            &mzj,
            &ask(insured, "殡葬补贴发放前核验参保状态", "《社会救助暂行办法》", &["姓名", "公民身份号码"]),
        )
        .await?;
        // Calls through the interface, each in the evidence log.
        let consumer = Consumer::user(ybj.org_id, ybj.user_id);
        let access = self.access(&consumer, "gaj_huji_renkou").await?;
        for limit in [20, 50, 100] {
            let q = tongshu_lake::RowQuery { table: "gaj_huji_renkou".into(), limit, ..Default::default() };
            let page = self.query(&access, q).await?;
            let rows: usize = page.batches.iter().map(|b| b.num_rows()).sum();
            let mut ev = crate::evidence_now("call");
            (ev.org_id, ev.user_id, ev.subject, ev.status) =
                (Some(ybj.org_id), Some(ybj.user_id), "table:gaj_huji_renkou".into(), 200);
            (ev.rows_out, ev.bytes_out, ev.duration_ms) = (rows as i64, rows as i64 * 120, 12);
            self.record_call(ev, None, None).await?;
        }
        let values = BTreeMap::from([
            ("姓名".to_owned(), "不存在".to_owned()),
            ("公民身份号码".to_owned(), "371302199001011234".to_owned()),
        ]);
        self.verify(&access, &consumer.key(), &values).await?;
        // The lists.
        let demand = self
            .post_demand(&ybj, "异地就医人员户籍变动信息", "需要及时获取参保人员户籍迁出信息，用于异地就医备案。")
            .await?;
        self.assign_demand(&admin, demand.id, gaj.org_id).await?;
        self.add_duty(
            &admin,
            gaj.org_id,
            "户籍人口基本信息按日更新",
            "公安局按日向资源库提供户籍人口基本信息。",
            "2026-12-31",
        )
        .await?;
        self.object(
            &ybj,
            &ObjectionInput {
                table: "gaj_huji_renkou".into(),
                record: "公民身份号码=（示例）".into(),
                item: Some("户籍地址".into()),
                expected: Some("已迁出".into()),
                evidence: "参保人提供的迁移证明".into(),
            },
        )
        .await?;
        Ok(true)
    }
}
