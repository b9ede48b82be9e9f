//! The precedence of every setting a profile can hold: flag > environment > profile >
//! default, for `config` (which shows every one) and for the commands that use them. The
//! environment is passed in, never the process's, so that tests do not race on it.

use std::path::PathBuf;

use clap::Parser;

use super::*;
use crate::cli::Cli;
use crate::settings::profile::Profile;

/// One profile setting with a value for each layer.
struct Case {
    /// Its name: the profile's key and `config`'s label.
    name: &'static str,
    /// Its flag.
    flag: &'static str,
    /// Its environment variable.
    env: &'static str,
    /// The value given by the flag, the environment and the profile.
    given: [&'static str; 3],
    /// The default as shown, `None` when there is none.
    default: Option<&'static str>,
}

const CASES: [Case; 8] = [
    Case {
        name: "base_url",
        flag: "--base-url",
        env: "ORGIMPORT_BASE_URL",
        given: [
            "https://flag.example.com",
            "https://env.example.com",
            "https://profile.example.com",
        ],
        default: None,
    },
    Case {
        name: "tenant",
        flag: "--tenant",
        env: "ORGIMPORT_TENANT",
        given: ["flag-tenant", "env-tenant", "profile-tenant"],
        default: None,
    },
    Case {
        name: "token_url",
        flag: "--token-url",
        env: "ORGIMPORT_TOKEN_URL",
        given: [
            "https://flag.example.com/t/system/oauth2/token",
            "https://env.example.com/t/system/oauth2/token",
            "https://profile.example.com/t/system/oauth2/token",
        ],
        default: None,
    },
    Case {
        name: "client_id",
        flag: "--client-id",
        env: "ORGIMPORT_CLIENT_ID",
        given: ["flag-client", "env-client", "profile-client"],
        default: None,
    },
    Case {
        name: "client_secret_file",
        flag: "--client-secret-file",
        env: "ORGIMPORT_CLIENT_SECRET_FILE",
        given: ["/flag/secret", "/env/secret", "/profile/secret"],
        default: None,
    },
    Case {
        name: "scope",
        flag: "--scope",
        env: "ORGIMPORT_SCOPE",
        given: ["flag_scope", "env_scope", "profile_scope"],
        default: Some("manage_organizations"),
    },
    Case {
        name: "template_id",
        flag: "--template-id",
        env: "ORGIMPORT_TEMPLATE_ID",
        given: ["flag-template", "env-template", "profile-template"],
        default: None,
    },
    Case {
        name: "rate",
        flag: "--rate",
        env: "ORGIMPORT_RATE",
        given: ["5/s", "6/m", "7/h"],
        default: Some("20/s"),
    },
];

/// The command line `args` after `orgimport`.
fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("orgimport").chain(args.iter().copied())).unwrap()
}

/// A profile `staging` of `orgimport.toml` holding `toml`.
fn profile(toml: &str) -> ActiveProfile {
    let profile: Profile = toml::from_str(toml).unwrap();
    ActiveProfile {
        path: Some(PathBuf::from("orgimport.toml")),
        name: Some("staging".into()),
        profile,
    }
}

/// `orgimport config` with `flags`, `env` and a profile holding `toml`.
fn config(flags: &[&str], env: &[(&str, &str)], toml: &str) -> ConfigSettings {
    let Command::Config(args) = cli(&[&["config"], flags].concat()).command else {
        panic!("not config")
    };
    let layers = Layers::new(env.iter().copied().collect(), profile(toml));
    ConfigSettings::resolve(args, layers).unwrap()
}

fn origin<'a>(settings: &'a ConfigSettings, name: &str) -> &'a Origin {
    settings
        .origins
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("{name} in {:?}", settings.origins))
}

/// The layers given to one setting, and what it should resolve to.
struct Given<'a> {
    flags: &'a [&'a str],
    env: &'a [(&'a str, &'a str)],
    profile: &'a str,
    value: Option<&'a str>,
    source: Source,
}

#[test]
fn every_profile_setting_takes_the_flag_over_the_env_over_the_profile_over_the_default() {
    for case in &CASES {
        let [flag, env, in_profile] = case.given;
        let toml = format!("{} = {in_profile:?}", case.name);
        let all = [
            Given {
                flags: &[case.flag, flag],
                env: &[(case.env, env)],
                profile: &toml,
                value: Some(flag),
                source: Source::Flag,
            },
            Given {
                flags: &[],
                env: &[(case.env, env)],
                profile: &toml,
                value: Some(env),
                source: Source::Env,
            },
            Given {
                flags: &[],
                env: &[],
                profile: &toml,
                value: Some(in_profile),
                source: Source::Profile,
            },
            Given {
                flags: &[],
                env: &[],
                profile: "",
                value: case.default,
                source: Source::Default,
            },
        ];
        for given in all {
            let settings = config(given.flags, given.env, given.profile);
            let found = origin(&settings, case.name);
            assert_eq!(
                (found.value.as_deref(), found.source),
                (given.value, given.source),
                "{}: flags {:?}, env {:?}, profile {:?}",
                case.name,
                given.flags,
                given.env,
                given.profile
            );
        }
    }
}

#[test]
fn a_flag_equal_to_the_default_still_beats_the_profile() {
    let toml = "scope = \"profile_scope\"\nrate = \"5/s\"";
    let settings = config(
        &["--scope", "manage_organizations", "--rate", "20"],
        &[],
        toml,
    );
    assert_eq!(origin(&settings, "scope").source, Source::Flag);
    assert_eq!(origin(&settings, "rate").source, Source::Flag);
    assert_eq!(origin(&settings, "rate").value.as_deref(), Some("20/s"));
    assert_eq!(settings.connection.scope, "manage_organizations");
}

/// The environment and profile every command test uses: enough to reach a tenant.
fn tenant_env() -> Environment {
    [
        ("ORGIMPORT_BASE_URL", "https://acme.example.com"),
        ("ORGIMPORT_TENANT", "acme"),
        ("ORGIMPORT_CLIENT_ID", "id"),
        ("ORGIMPORT_CLIENT_SECRET", "s3cret"),
    ]
    .into_iter()
    .collect()
}

fn layers(toml: &str) -> Layers {
    Layers::new(tenant_env(), profile(toml))
}

#[test]
fn import_takes_the_profile_rate_and_scope_over_the_defaults_but_not_over_flags() {
    let toml = "scope = \"profile_scope\"\nrate = \"600/m\"\ntemplate_id = \"profile-t\"";
    let resolve = |flags: &[&str]| {
        let Command::Import(args) = cli(&[&["import", "c.csv"], flags].concat()).command else {
            panic!("not import")
        };
        ImportSettings::resolve(args, true, &mut layers(toml)).unwrap()
    };
    let scope = |s: &ImportSettings| match &s.target {
        Target::Tenant(t) => t.credentials.scope.clone(),
        Target::Sandbox => panic!("a tenant"),
    };

    let from_profile = resolve(&[]);
    assert_eq!(from_profile.rate_per_second, 10.0);
    assert_eq!(scope(&from_profile), "profile_scope");
    assert_eq!(from_profile.default_template.as_deref(), Some("profile-t"));

    let from_flags = resolve(&["--rate", "20", "--scope", "manage_organizations"]);
    assert_eq!(from_flags.rate_per_second, 20.0);
    assert_eq!(scope(&from_flags), "manage_organizations");

    let defaults = {
        let Command::Import(args) = cli(&["import", "c.csv"]).command else {
            panic!("not import")
        };
        ImportSettings::resolve(args, true, &mut layers("")).unwrap()
    };
    assert_eq!(defaults.rate_per_second, 20.0);
    assert_eq!(scope(&defaults), "manage_organizations");
    assert_eq!(defaults.default_template, None);
}

#[test]
fn verify_and_undo_take_the_rate_from_the_profile_unless_a_flag_or_the_env_gives_it() {
    let toml = "rate = \"600/m\"";
    let verify = |flags: &[&str], env: Environment| {
        let Command::Verify(args) = cli(&[&["verify", "r.csv"], flags].concat()).command else {
            panic!("not verify")
        };
        let mut layers = Layers::new(env, profile(toml));
        VerifySettings::resolve(args, true, &mut layers).unwrap()
    };
    assert_eq!(
        verify(&[], tenant_env()).results.rate.ceiling_per_second(),
        10.0
    );
    assert_eq!(
        verify(&["--rate", "20"], tenant_env())
            .results
            .rate
            .ceiling_per_second(),
        20.0
    );
    let with_rate: Environment = [
        ("ORGIMPORT_BASE_URL", "https://acme.example.com"),
        ("ORGIMPORT_CLIENT_ID", "id"),
        ("ORGIMPORT_CLIENT_SECRET", "s3cret"),
        ("ORGIMPORT_RATE", "3"),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        verify(&[], with_rate).results.rate.ceiling_per_second(),
        3.0
    );

    let Command::Undo(args) = cli(&["undo", "r.csv"]).command else {
        panic!("not undo")
    };
    let undo = UndoSettings::resolve(args, true, &mut layers(toml)).unwrap();
    assert_eq!(undo.results.rate.ceiling_per_second(), 10.0);
    assert_eq!(undo.results.out, PathBuf::from("r.undo.csv"));
}

#[test]
fn token_takes_the_tenant_and_template_from_the_layers() {
    let Command::Token(args) = cli(&["token"]).command else {
        panic!("not token")
    };
    let toml = "template_id = \"profile-t\"\ntenant = \"profile-tenant\"";
    let token = TokenSettings::resolve(args, &mut layers(toml)).unwrap();
    assert_eq!(
        token.tenant.tenant, "acme",
        "the environment beats the profile"
    );
    assert_eq!(token.template_id.as_deref(), Some("profile-t"));
}

#[test]
fn a_malformed_environment_variable_is_named() {
    let Command::Import(args) = cli(&["import", "c.csv", "--sandbox"]).command else {
        panic!("not import")
    };
    let env: Environment = [("ORGIMPORT_RATE", "fast")].into_iter().collect();
    let error = ImportSettings::resolve(args, true, &mut Layers::without_file(env)).unwrap_err();
    assert!(
        matches!(&error, Error::Config(m) if m.starts_with("ORGIMPORT_RATE: \"fast\" is not a rate")),
        "{error}"
    );
}

#[test]
fn a_dry_run_needs_no_credentials_and_a_plan_ignores_dry_run() {
    let Command::Import(args) = cli(&["import", "c.csv", "--dry-run", "--tenant", "t"]).command
    else {
        panic!("not import")
    };
    let dry = ImportSettings::resolve(
        args,
        true,
        &mut Layers::without_file(Environment::default()),
    )
    .unwrap();
    assert_eq!(dry.dry_run.and_then(|d| d.tenant).as_deref(), Some("t"));
    // The tenant in --token-url is the tenant, in a dry run as everywhere.
    let Command::Import(args) = cli(&[
        "import",
        "c.csv",
        "--dry-run",
        "--token-url",
        "https://acme.us.connect.secureauth.com/acme-prod/system/oauth2/token",
    ])
    .command
    else {
        panic!("not import")
    };
    let dry = ImportSettings::resolve(
        args,
        true,
        &mut Layers::without_file(Environment::default()),
    )
    .unwrap();
    assert_eq!(
        dry.dry_run.and_then(|d| d.tenant).as_deref(),
        Some("acme-prod")
    );

    let Command::Plan(args) = cli(&["plan", "c.csv", "--dry-run"]).command else {
        panic!("not plan")
    };
    let plan = PlanSettings::resolve(args, true, &mut layers("")).unwrap();
    assert!(plan.import.dry_run.is_none());
    assert!(matches!(plan.import.target, Target::Tenant(_)));
    assert_eq!(plan.out, PathBuf::from("c.plan.csv"));
}

#[test]
fn validate_reads_the_environment_but_no_settings_file() {
    // The file a command reads must be there before its settings are looked at.
    let input = tempfile::NamedTempFile::new().unwrap();
    let cli = cli(&[
        "--profile",
        "nope",
        "validate",
        input.path().to_str().unwrap(),
    ]);
    let env: Environment = [("ORGIMPORT_TEMPLATE_ID", "env-t")].into_iter().collect();
    let Settings::Validate(settings) = Settings::resolve(cli, env).unwrap() else {
        panic!("not validate")
    };
    assert_eq!(settings.template_id.as_deref(), Some("env-t"));
}

#[test]
fn the_environment_never_shows_the_secret() {
    let debug = format!("{:?}", layers(""));
    assert!(debug.contains("ORGIMPORT_CLIENT_SECRET"), "{debug}");
    assert!(!debug.contains("s3cret"), "{debug}");
}

#[test]
fn the_sandbox_limiters_are_switches() {
    let Command::Sandbox(args) = cli(&[
        "sandbox",
        "--rate-limit",
        "10",
        "--rate-limit-mode",
        "blocking-window",
        "--rate-limit-window",
        "5s",
        "--rate-limit-schedule",
        "15s=30",
        "--rate-limit-schedule",
        "1m=600/m",
        "--rate-limit-headers",
        "okta",
        "--rate-limit-writes-only",
        "--concurrency-limit",
        "8",
    ])
    .command
    else {
        panic!("not sandbox")
    };
    let config = SandboxSettings::resolve(args, &Environment::default())
        .unwrap()
        .config;
    assert_eq!(config.rate_limit_mode, RateLimitMode::BlockingWindow);
    assert_eq!(config.rate_limit_window, Duration::from_secs(5));
    let per_second = |n| NonZeroU32::new(n).unwrap();
    assert_eq!(
        config.rate_limit_schedule,
        [
            (Duration::from_secs(15), per_second(30)),
            (Duration::from_secs(60), per_second(10))
        ]
    );
    assert!(config.rate_limit_headers && config.rate_limit_writes_only);
    assert_eq!(config.rate_limit_header_style, HeaderStyle::Okta);
    assert_eq!(config.concurrency_limit, Some(per_second(8)));

    // The bare switch keeps its meaning: both forms.
    let Command::Sandbox(args) =
        cli(&["sandbox", "--rate-limit", "10", "--rate-limit-headers"]).command
    else {
        panic!("not sandbox")
    };
    let config = SandboxSettings::resolve(args, &Environment::default())
        .unwrap()
        .config;
    assert!(config.rate_limit_headers);
    assert_eq!(config.rate_limit_header_style, HeaderStyle::Both);
    assert_eq!(config.rate_limit_mode, RateLimitMode::Governor);
    assert!(config.rate_limit_schedule.is_empty() && config.concurrency_limit.is_none());
}
