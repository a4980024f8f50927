//! Typed settings: defaults, then the TOML file, then `TONGSHU_*` environment variables,
//! then command-line flags. Secrets are wrapped so that they never reach a log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The commented default configuration (`tongshu config` prints it).
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/tongshu.toml");

/// Info for Tongshu; the storage engines only speak up about problems.
const DEFAULT_LOG: &str = "info,sqlx=warn,buoyant_kernel=warn,deltalake_core=warn,datafusion=warn,object_store=warn";

/// A value that must not be printed.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Object-store options: their names may be printed, their values (credentials) not.
#[derive(Clone, Default)]
pub struct StorageOptions(pub std::collections::HashMap<String, String>);

impl std::fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        f.debug_set().entries(keys).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    pub log: String,
    pub log_format: LogFormat,
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    /// Where the resource library's tables live; empty: `<data_dir>/library`.
    pub library: String,
    /// Options of the library's object store (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, …);
    /// `AWS_*` environment variables are read too.
    pub library_options: StorageOptions,
    /// 32 hex digits sealing data-source passwords (SM4); empty: `<data_dir>/secret.key`,
    /// made on first use.
    pub secret_key: Secret,
    /// Largest file accepted by the upload of the workbench and the ingest API, in bytes.
    pub upload_max_bytes: u64,
    /// Hours between scheduled upkeep runs (compact and vacuum every table); 0: never.
    pub upkeep_every_hours: u64,
    /// Files no longer part of a table are removed after this many hours.
    pub vacuum_retention_hours: u64,
    /// Requests a minute each client address may make to the public data APIs; 0: no limit.
    pub public_rate_per_minute: u64,
    /// Requests a minute per API key (keys without a rate of their own).
    pub key_rate_per_minute: u64,
    /// Working days a provider has to answer a conditional share request.
    pub share_deadline_days: u64,
    /// Remind providers this many working days before the deadline.
    pub share_remind_days: u64,
    /// How far a signed call's timestamp may be from the clock, in seconds.
    pub signature_window_secs: u64,
    /// Default quotas of an app per data interface; 0: no limit.
    pub interface_calls_per_minute: u64,
    pub interface_calls_per_day: u64,
    /// Verifications without a match per caller, interface and day.
    pub verify_misses_per_day: u64,
    /// Misses per caller, interface and day from which the provider is alerted.
    pub verify_flag_misses: u64,
    /// The address users reach Tongshu at (`https://data.example.gov.cn`): every absolute
    /// link (sitemap, DCAT, CKAN's site_url, JSON-LD) is built from it, never from the
    /// request's Host header. Empty: `http://<addr>`.
    pub public_url: String,
    /// Seconds a background job's lease lasts unrenewed: the jobs of a node that stopped
    /// are taken up by another this long after.
    pub job_lease_secs: u64,
    /// Seconds between the schedule's looks for due work (pulls, upkeep, jobs of stopped
    /// nodes).
    pub schedule_tick_secs: u64,
    /// A real-time pipeline whose replication slot holds more WAL than this (MiB) on its
    /// source warns in its status and the log.
    pub channel_wal_warn_mb: u64,
    /// Sessions that copy one large table at once in a pipeline's snapshot.
    pub channel_snapshot_sessions: usize,
    /// Probe the information systems' URLs this often (hours; 0: never, the default).
    pub system_probe_every_hours: u64,
    /// Working days a project's review, approval, acceptance or rectification step is due in.
    pub project_stage_days: u64,
    /// Working days a rectification ticket is due in.
    pub ticket_days: u64,
    /// Zombie-system thresholds (the `[zombie]` section).
    pub zombie: tongshu_core::projects::zombie::Rules,
    /// The city served (the `[city]` section); Linyi without one.
    pub city: tongshu_core::city::City,
}

/// The `[city]` section: code, name and districts required, titles made from the name
/// unless given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CityFile {
    code: String,
    name: String,
    name_en: Option<String>,
    districts: Vec<(String, String)>,
    portal_title: Option<String>,
    portal_title_en: Option<String>,
    bureau: Option<String>,
    bureau_en: Option<String>,
    bureau_slug: Option<String>,
}

impl CityFile {
    fn city(self) -> Result<tongshu_core::city::City> {
        use tongshu_core::city::{City, District};
        let mut c = City::named(&self.code, &self.name, self.name_en.as_deref().unwrap_or(&self.name));
        c.districts = self.districts.into_iter().map(|(code, name)| District { code, name }).collect();
        let or = |v: Option<String>, d: &mut String| {
            if let Some(v) = v {
                *d = v;
            }
        };
        or(self.portal_title, &mut c.portal_title);
        or(self.portal_title_en, &mut c.portal_title_en);
        or(self.bureau, &mut c.bureau);
        or(self.bureau_en, &mut c.bureau_en);
        or(self.bureau_slug, &mut c.bureau_slug);
        c.validate().map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// The file's shape: every key optional, unknown keys refused (typos are caught).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    addr: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    secure_cookies: Option<bool>,
    max_body_bytes: Option<usize>,
    library: Option<String>,
    library_options: Option<std::collections::HashMap<String, String>>,
    secret_key: Option<String>,
    upload_max_bytes: Option<u64>,
    upkeep_every_hours: Option<u64>,
    vacuum_retention_hours: Option<u64>,
    public_rate_per_minute: Option<u64>,
    key_rate_per_minute: Option<u64>,
    share_deadline_days: Option<u64>,
    share_remind_days: Option<u64>,
    signature_window_secs: Option<u64>,
    interface_calls_per_minute: Option<u64>,
    interface_calls_per_day: Option<u64>,
    verify_misses_per_day: Option<u64>,
    verify_flag_misses: Option<u64>,
    public_url: Option<String>,
    job_lease_secs: Option<u64>,
    schedule_tick_secs: Option<u64>,
    channel_wal_warn_mb: Option<u64>,
    channel_snapshot_sessions: Option<u64>,
    system_probe_every_hours: Option<u64>,
    project_stage_days: Option<u64>,
    ticket_days: Option<u64>,
    zombie: Option<tongshu_core::projects::zombie::Rules>,
    city: Option<CityFile>,
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub addr: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads settings from `overrides.config` (or `TONGSHU_CONFIG`), the environment and
    /// the flags. `env` is the environment to read (tests pass their own).
    pub fn load(overrides: &Overrides, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let path = overrides.config.clone().or_else(|| env("TONGSHU_CONFIG").map(PathBuf::from));
        let file = match &path {
            Some(p) => read_file(p)?,
            None => File::default(),
        };
        let pick = |flag: Option<String>, var: &str, file: Option<String>, default: &str| {
            flag.or_else(|| env(var)).or(file).unwrap_or_else(|| default.to_owned())
        };
        let addr_text = pick(overrides.addr.clone(), "TONGSHU_ADDR", file.addr, "127.0.0.1:8080");
        let addr =
            addr_text.parse().with_context(|| format!("addr {addr_text:?} is not HOST:PORT (e.g. 127.0.0.1:8080)"))?;
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("TONGSHU_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./tongshu-data"));
        let database_url = pick(overrides.database_url.clone(), "TONGSHU_DATABASE_URL", file.database_url, "");
        let log = pick(None, "TONGSHU_LOG", file.log, DEFAULT_LOG);
        let log_format = match pick(None, "TONGSHU_LOG_FORMAT", file.log_format, "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("log_format {other:?} must be \"text\" or \"json\""),
        };
        let secure_cookies = match env("TONGSHU_SECURE_COOKIES") {
            Some(v) => parse_bool("TONGSHU_SECURE_COOKIES", &v)?,
            None => file.secure_cookies.unwrap_or(false),
        };
        let max_body_bytes = match env("TONGSHU_MAX_BODY_BYTES") {
            Some(v) => v.parse().with_context(|| format!("TONGSHU_MAX_BODY_BYTES {v:?} is not a number of bytes"))?,
            None => file.max_body_bytes.unwrap_or(2 * 1024 * 1024),
        };
        let library = pick(None, "TONGSHU_LIBRARY", file.library, "");
        let secret_key = pick(None, "TONGSHU_SECRET_KEY", file.secret_key, "");
        let number = |var: &str, file: Option<u64>, default: u64| -> Result<u64> {
            match env(var) {
                Some(v) => v.parse().with_context(|| format!("{var} {v:?} is not a whole number")),
                None => Ok(file.unwrap_or(default)),
            }
        };
        let upload_max_bytes = number("TONGSHU_UPLOAD_MAX_BYTES", file.upload_max_bytes, 20 << 30)?;
        let upkeep_every_hours = number("TONGSHU_UPKEEP_EVERY_HOURS", file.upkeep_every_hours, 24)?;
        let vacuum_retention_hours = number("TONGSHU_VACUUM_RETENTION_HOURS", file.vacuum_retention_hours, 168)?;
        let public_rate_per_minute = number("TONGSHU_PUBLIC_RATE_PER_MINUTE", file.public_rate_per_minute, 600)?;
        let key_rate_per_minute = number("TONGSHU_KEY_RATE_PER_MINUTE", file.key_rate_per_minute, 6000)?;
        let share_deadline_days = number("TONGSHU_SHARE_DEADLINE_DAYS", file.share_deadline_days, 10)?;
        if !(1..=60).contains(&share_deadline_days) {
            bail!("share_deadline_days {share_deadline_days} must be 1 to 60 working days");
        }
        let share_remind_days = number("TONGSHU_SHARE_REMIND_DAYS", file.share_remind_days, 2)?;
        let signature_window_secs = number("TONGSHU_SIGNATURE_WINDOW_SECS", file.signature_window_secs, 300)?;
        let interface_calls_per_minute =
            number("TONGSHU_INTERFACE_CALLS_PER_MINUTE", file.interface_calls_per_minute, 600)?;
        let interface_calls_per_day = number("TONGSHU_INTERFACE_CALLS_PER_DAY", file.interface_calls_per_day, 100_000)?;
        let verify_misses_per_day = number("TONGSHU_VERIFY_MISSES_PER_DAY", file.verify_misses_per_day, 20)?;
        let verify_flag_misses = number("TONGSHU_VERIFY_FLAG_MISSES", file.verify_flag_misses, 10)?;
        let job_lease_secs = number("TONGSHU_JOB_LEASE_SECS", file.job_lease_secs, 30)?.max(1);
        let schedule_tick_secs = number("TONGSHU_SCHEDULE_TICK_SECS", file.schedule_tick_secs, 30)?.max(1);
        let channel_wal_warn_mb = number("TONGSHU_CHANNEL_WAL_WARN_MB", file.channel_wal_warn_mb, 1024)?;
        let channel_snapshot_sessions =
            number("TONGSHU_CHANNEL_SNAPSHOT_SESSIONS", file.channel_snapshot_sessions, 1)?.clamp(1, 16) as usize;
        let system_probe_every_hours = number("TONGSHU_SYSTEM_PROBE_EVERY_HOURS", file.system_probe_every_hours, 0)?;
        let project_stage_days = number("TONGSHU_PROJECT_STAGE_DAYS", file.project_stage_days, 20)?.clamp(1, 365);
        let ticket_days = number("TONGSHU_TICKET_DAYS", file.ticket_days, 20)?.clamp(1, 365);
        let zombie = file.zombie.clone().unwrap_or_default();
        let city = match file.city {
            None => tongshu_core::city::City::linyi(),
            Some(c) => c.city().with_context(|| {
                format!("config file {}: [city]", path.as_deref().unwrap_or(Path::new("")).display())
            })?,
        };
        let public_url = pick(None, "TONGSHU_PUBLIC_URL", file.public_url, "");
        let public_url = match public_url.trim().trim_end_matches('/') {
            "" => format!("http://{addr}"),
            u => {
                let parsed = url::Url::parse(u).with_context(|| format!("public_url {u:?} is not a URL"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.path() != "/" {
                    bail!("public_url {u:?} must be http(s)://HOST[:PORT] without a path");
                }
                u.to_owned()
            }
        };
        Ok(Self {
            addr,
            data_dir,
            database_url: Secret(database_url),
            log,
            log_format,
            secure_cookies,
            max_body_bytes,
            library,
            library_options: StorageOptions(file.library_options.unwrap_or_default()),
            secret_key: Secret(secret_key),
            upload_max_bytes,
            upkeep_every_hours,
            vacuum_retention_hours,
            public_rate_per_minute,
            key_rate_per_minute,
            share_deadline_days,
            share_remind_days,
            signature_window_secs,
            interface_calls_per_minute,
            interface_calls_per_day,
            verify_misses_per_day,
            verify_flag_misses,
            public_url,
            job_lease_secs,
            schedule_tick_secs,
            channel_wal_warn_mb,
            channel_snapshot_sessions,
            system_probe_every_hours,
            project_stage_days,
            ticket_days,
            zombie,
            city,
        })
    }

    /// The key sealing data-source passwords: the configured one, or the one in
    /// `<data_dir>/secret.key` (made, readable by the owner only, on first use).
    pub fn secret_key(&self) -> Result<tongshu_sources::SecretKey> {
        if !self.secret_key.expose().is_empty() {
            return tongshu_sources::SecretKey::from_hex(self.secret_key.expose()).context("secret_key");
        }
        let path = self.data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => tongshu_sources::SecretKey::from_hex(&text).with_context(|| format!("{}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
                let key = tongshu_sources::SecretKey::generate();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(&path).with_context(|| format!("cannot create {}", path.display()))?;
                std::io::Write::write_all(&mut f, key.to_hex().as_bytes())?;
                tracing::info!(path = %path.display(), "made a new secret key for data-source passwords; back it up");
                Ok(key)
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The metadata store's URL: the configured one, or SQLite in the data directory.
    pub fn store_url(&self) -> String {
        if self.database_url.expose().is_empty() {
            format!("sqlite://{}", self.data_dir.join("meta.db").display())
        } else {
            self.database_url.expose().to_owned()
        }
    }
}

fn read_file(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))
}

fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name} {v:?} must be true or false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_shipped_config_parses_to_the_defaults() {
        let file: File = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(file.addr.as_deref(), Some("127.0.0.1:8080"));
        let s = Settings::load(&Overrides::default(), &env(&[])).unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./tongshu-data"));
        assert_eq!(s.store_url(), "sqlite://./tongshu-data/meta.db");
        assert_eq!((s.share_deadline_days, s.interface_calls_per_minute), (10, 600));
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        let public =
            Settings::load(&Overrides::default(), &env(&[("TONGSHU_PUBLIC_URL", "https://data.linyi.gov.cn/")]))
                .unwrap();
        assert_eq!(public.public_url, "https://data.linyi.gov.cn");
        for bad in ["data.linyi.gov.cn", "javascript:alert(1)", "https://x/y"] {
            let e = Settings::load(&Overrides::default(), &env(&[("TONGSHU_PUBLIC_URL", bad)])).unwrap_err();
            assert!(e.to_string().contains("public_url"), "{bad}: {e}");
        }
        let five = Settings::load(&Overrides::default(), &env(&[("TONGSHU_SHARE_DEADLINE_DAYS", "5")])).unwrap();
        assert_eq!(five.share_deadline_days, 5, "a stricter city");
        let e = Settings::load(&Overrides::default(), &env(&[("TONGSHU_SHARE_DEADLINE_DAYS", "0")])).unwrap_err();
        assert!(e.to_string().contains("share_deadline_days"), "{e}");
    }

    #[test]
    fn library_options_come_from_the_file_and_their_values_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "library = \"s3://b/p\"\n[library_options]\nAWS_SECRET_ACCESS_KEY = \"hunter2\"\n")
            .unwrap();
        let s = Settings::load(&Overrides { config: Some(path), ..Default::default() }, &env(&[])).unwrap();
        assert_eq!(s.library, "s3://b/p");
        assert_eq!(s.library_options.0["AWS_SECRET_ACCESS_KEY"], "hunter2");
        let printed = format!("{s:?}");
        assert!(printed.contains("AWS_SECRET_ACCESS_KEY") && !printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn the_city_comes_from_its_section_and_bad_codes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::load(&Overrides { config: Some(path.clone()), ..Default::default() }, &env(&[]))
        };
        assert_eq!(load("").unwrap().city, tongshu_core::city::City::linyi(), "Linyi without a section");
        let jinan = "[city]\ncode = \"370100\"\nname = \"济南市\"\nname_en = \"Jinan\"\n\
                     districts = [[\"370102\", \"历下区\"], [\"370103\", \"市中区\"]]\n";
        let c = load(jinan).unwrap().city;
        assert_eq!(
            (c.code.as_str(), c.portal_title.as_str(), c.districts.len()),
            ("370100", "济南市公共数据开放网", 2)
        );
        assert_eq!(c.area("370103"), Some("市中区"));
        let e = load(&jinan.replace("370103", "371302")).unwrap_err();
        assert!(format!("{e:#}").contains("city.districts[1].code"), "{e:#}");
        let e = load(&jinan.replace("name_en", "english")).unwrap_err();
        assert!(format!("{e:#}").contains("english"), "an unknown key is named: {e:#}");
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "addr = \"127.0.0.1:1\"\ndata_dir = \"/from-file\"\nlog = \"debug\"\n").unwrap();
        let o = Overrides { config: Some(path), addr: Some("127.0.0.1:3".into()), ..Default::default() };
        let s =
            Settings::load(&o, &env(&[("TONGSHU_ADDR", "127.0.0.1:2"), ("TONGSHU_DATA_DIR", "/from-env")])).unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.1:3");
        assert_eq!(s.data_dir, PathBuf::from("/from-env"));
        assert_eq!(s.log, "debug");
    }

    #[test]
    fn secrets_are_not_printed_and_bad_values_are_named() {
        let s = Settings::load(&Overrides::default(), &env(&[("TONGSHU_DATABASE_URL", "postgres://u:hunter2@h/db")]))
            .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let e =
            Settings::load(&Overrides { addr: Some("nonsense".into()), ..Default::default() }, &env(&[])).unwrap_err();
        assert!(e.to_string().contains("nonsense"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "adr = \"x\"\n").unwrap();
        let e = Settings::load(&Overrides { config: Some(path), ..Default::default() }, &env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("adr"), "{e:#}");
    }
}
