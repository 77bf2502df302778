//! Vendor token formats with a fixed prefix, caught wherever they stand (no keyword needed).
//!
//! Derived from gitleaks' public rule set (MIT; the rules used are listed in
//! tests/data/secrets/gitleaks_rules.json) and vendors' documentation of their token formats.
//! Lengths are looser than gitleaks' where a longer run of token characters would otherwise be
//! cut (a redactor must take the whole token, a scanner only needs to see one). Each rule
//! names its anchors: lowercase literals one of which every match contains; a rule runs only
//! on text holding one of them (one pass over the text finds them all).

use super::rules::{Builtin, Check};

const fn tok(
    category: &'static str,
    name: &'static str,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> Builtin {
    Builtin {
        category,
        name,
        pattern,
        check: Check::None,
        anchors,
    }
}

/// The prefixed token rules.
pub fn tokens() -> Vec<Builtin> {
    let v = "vendor_token";
    vec![
        tok(
            "slack",
            "slack_app_token",
            &["xapp-"],
            r"(?i)\bxapp-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]+",
        ),
        tok(
            "google",
            "google_oauth_client_secret",
            &["gocspx-"],
            r"\bGOCSPX-[A-Za-z0-9_\-]{20,}",
        ),
        tok(
            "google",
            "google_oauth_access_token",
            &["ya29."],
            r"\bya29\.[A-Za-z0-9_\-.]{20,}",
        ),
        tok(
            "vendor_token",
            "huggingface_token",
            &["hf_"],
            r"\bhf_[A-Za-z0-9]{30,}\b",
        ),
        tok(
            v,
            "huggingface_org_token",
            &["api_org_"],
            r"\bapi_org_[A-Za-z0-9]{30,}\b",
        ),
        tok(
            "azure",
            "azure_ad_client_secret",
            &["q~"],
            r#"(?:^|[\\'"`\s>=:(,)])(?P<secret>[a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.\-]{31,40})(?:$|[\\'"`\s<),.&;])"#,
        ),
        tok(
            v,
            "databricks_token",
            &["dapi"],
            r"\bdapi[a-f0-9]{32}(?:-\d)?\b",
        ),
        tok(
            v,
            "digitalocean_token",
            &["doo_v1_", "dop_v1_", "dor_v1_"],
            r"(?i)\bdo[opr]_v1_[a-f0-9]{64}\b",
        ),
        tok(
            v,
            "shopify_token",
            &["shpat_", "shpca_", "shppa_", "shpss_"],
            r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
        ),
        tok(
            v,
            "heroku_api_key",
            &["hrku-"],
            r"\bHRKU-[A-Za-z0-9_\-]{40,}",
        ),
        tok(
            v,
            "doppler_token",
            &[
                "dp.pt.",
                "dp.st.",
                "dp.sa.",
                "dp.ct.",
                "dp.scim.",
                "dp.audit.",
            ],
            r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}",
        ),
        tok(
            v,
            "grafana_service_account_token",
            &["glsa_"],
            r"(?i)\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b",
        ),
        tok(
            v,
            "grafana_cloud_token",
            &["glc_"],
            r"(?i)\bglc_[A-Za-z0-9+/]{32,}={0,3}",
        ),
        tok(
            v,
            "grafana_api_key",
            &["eyjrijoi"],
            r"(?i)\beyJrIjoi[A-Za-z0-9]{40,}={0,3}",
        ),
        tok(
            v,
            "vault_token",
            &["hvs.", "hvb."],
            r"\bhv[sb]\.[A-Za-z0-9_\-]{90,}",
        ),
        tok(
            v,
            "onepassword_secret_key",
            &["a3-"],
            r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b",
        ),
        tok(
            v,
            "onepassword_service_token",
            &["ops_eyj"],
            r"\bops_eyJ[A-Za-z0-9+/]{100,}={0,3}",
        ),
        tok(
            v,
            "adobe_client_secret",
            &["p8e-"],
            r"\bp8e-[A-Za-z0-9]{32}\b",
        ),
        tok(
            v,
            "age_secret_key",
            &["age-secret-key-1"],
            r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        ),
        tok(
            v,
            "airtable_token",
            &["pat"],
            r"\bpat[A-Za-z0-9]{14}\.[a-f0-9]{64}\b",
        ),
        tok(
            "aws",
            "alibaba_access_key_id",
            &["ltai"],
            r"\bLTAI[A-Za-z0-9]{20}\b",
        ),
        tok(
            v,
            "artifactory_api_key",
            &["akcp"],
            r"\bAKCp[A-Za-z0-9]{69}\b",
        ),
        tok(
            v,
            "artifactory_reference_token",
            &["cmvmd"],
            r"\bcmVmd[A-Za-z0-9]{59}\b",
        ),
        tok(
            v,
            "authress_access_key",
            &[".acc_", ".acc-"],
            r"(?i)\b(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}\.[a-z0-9+/_=-]{30,}",
        ),
        tok(
            "aws",
            "aws_bedrock_api_key",
            &["absk"],
            r"\bABSK[A-Za-z0-9+/]{100,}={0,2}",
        ),
        tok(
            "aws",
            "aws_bedrock_short_lived_key",
            &["bedrock-api-key-"],
            r"\bbedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=_\-%.]*",
        ),
        tok(
            "aws",
            "aws_session_token",
            &["fwogzxivyxdze", "iqojb3jpz2lux2vj", "aqodyxdze"],
            r"\b(?:FwoGZXIvYXdzE|IQoJb3JpZ2luX2Vj|AQoDYXdzE)[A-Za-z0-9/+=]{100,}",
        ),
        tok(
            v,
            "clickhouse_secret_key",
            &["4b1d"],
            r"\b4b1d[A-Za-z0-9]{38}\b",
        ),
        tok(
            v,
            "clojars_token",
            &["clojars_"],
            r"(?i)\bCLOJARS_[a-z0-9]{60}",
        ),
        tok(
            v,
            "cloudflare_origin_ca_key",
            &["v1.0-"],
            r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}",
        ),
        tok(
            v,
            "duffel_token",
            &["duffel_"],
            r"\bduffel_(?:test|live)_[A-Za-z0-9_\-=]{43}",
        ),
        tok(
            v,
            "dynatrace_token",
            &["dt0c01."],
            r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",
        ),
        tok(
            v,
            "easypost_token",
            &["ezak", "eztk"],
            r"\bEZ[AT]K[A-Za-z0-9]{54}\b",
        ),
        tok(
            v,
            "facebook_access_token",
            &["|", "%7c"],
            r"\b\d{15,16}(?:\||%7[Cc])[0-9A-Za-z\-_]{27,40}\b",
        ),
        tok(
            v,
            "facebook_page_token",
            &["eaam", "eaac"],
            r"\bEAA[MC][A-Za-z0-9]{100,}",
        ),
        tok(
            v,
            "flutterwave_secret_key",
            &["flwseck_test-"],
            r"(?i)\bFLWSECK_TEST-[a-h0-9]{12,32}(?:-X)?",
        ),
        tok(
            v,
            "flyio_token",
            &["fo1_", "fm1a_", "fm1r_", "fm2_"],
            r"\b(?:fo1_[A-Za-z0-9_\-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,}={0,3}|fm2_[A-Za-z0-9+/]{100,}={0,3})",
        ),
        tok(
            v,
            "frameio_token",
            &["fio-u-"],
            r"\bfio-u-[A-Za-z0-9\-_=]{64}",
        ),
        tok(
            v,
            "gitlab_session_cookie",
            &["_gitlab_session="],
            r"_gitlab_session=[0-9a-z]{32}",
        ),
        tok(
            v,
            "harness_api_key",
            &["pat.", "sat."],
            r"\b(?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
        ),
        tok(
            v,
            "terraform_api_token",
            &["atlasv1"],
            r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9\-_=]{60,}",
        ),
        tok(v, "infracost_token", &["ico-"], r"\bico-[A-Za-z0-9]{32}\b"),
        tok(
            v,
            "intra42_client_secret",
            &["s-s4t2"],
            r"\bs-s4t2(?:ud|af)-[a-fA-F0-9]{64}\b",
        ),
        tok(
            v,
            "linear_api_key",
            &["lin_api_"],
            r"\blin_api_[A-Za-z0-9]{40}\b",
        ),
        tok(
            v,
            "maxmind_license_key",
            &["_mmk"],
            r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b",
        ),
        tok(
            v,
            "teams_webhook",
            &["webhook.office.com"],
            r"https://[A-Za-z0-9.\-]+\.webhook\.office\.com/webhookb2/[A-Za-z0-9@/\-_]+",
        ),
        tok(
            v,
            "notion_token",
            &["ntn_"],
            r"\bntn_[0-9]{11}[A-Za-z0-9]{35}\b",
        ),
        tok(v, "octopus_deploy_key", &["api-"], r"\bAPI-[A-Z0-9]{26}\b"),
        tok(
            v,
            "openshift_token",
            &["sha256~"],
            r"\bsha256~[A-Za-z0-9_\-]{43}",
        ),
        tok(v, "perplexity_key", &["pplx-"], r"\bpplx-[A-Za-z0-9]{48}\b"),
        tok(
            v,
            "planetscale_token",
            &["pscale_"],
            r"(?i)\bpscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.\-]{32,64}",
        ),
        tok(
            v,
            "postman_key",
            &["pmak-"],
            r"\bPMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}\b",
        ),
        tok(v, "prefect_token", &["pnu_"], r"\bpnu_[A-Za-z0-9]{36}\b"),
        tok(v, "pulumi_token", &["pul-"], r"\bpul-[a-f0-9]{40}\b"),
        tok(v, "readme_token", &["rdme_"], r"\brdme_[a-z0-9]{70}\b"),
        tok(
            v,
            "rubygems_token",
            &["rubygems_"],
            r"\brubygems_[a-f0-9]{48}\b",
        ),
        tok(
            v,
            "scalingo_token",
            &["tk-us-"],
            r"\btk-us-[A-Za-z0-9_\-]{48}",
        ),
        tok(
            v,
            "sendinblue_key",
            &["xkeysib-"],
            r"\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b",
        ),
        tok(
            v,
            "sentry_token",
            &["sntrys_", "sntryu_"],
            r"\bsntry(?:s_eyJ[A-Za-z0-9+/=_]{20,}|u_[a-f0-9]{64}\b)",
        ),
        tok(
            v,
            "settlemint_token",
            &["sm_aat_", "sm_pat_", "sm_sat_"],
            r"\bsm_(?:aat|pat|sat)_[A-Za-z0-9]{16}\b",
        ),
        tok(
            v,
            "shippo_token",
            &["shippo_"],
            r"\bshippo_(?:live|test)_[a-fA-F0-9]{40}\b",
        ),
        tok(
            v,
            "sourcegraph_token",
            &["sgp_"],
            r"\bsgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}\b",
        ),
        tok(
            v,
            "square_token",
            &["eaaa", "sq0atp-", "sq0csp-"],
            r"\b(?:EAAA|sq0atp-|sq0csp-)[A-Za-z0-9_\-]{22,}",
        ),
        tok(
            v,
            "sidekiq_secret",
            &["__contribsys__com"],
            r#"(?i)BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM['"]?\s*[:=]\s*['"]?(?P<secret>[a-f0-9]{8}:[a-f0-9]{8})"#,
        ),
        tok(
            "discord",
            "discord_bot_token",
            &[],
            r"\b[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}",
        ),
    ]
}
