//! One storage test suite, run against both backends: every test below
//! becomes `<name>::sqlite` and `<name>::postgres`.

use chrono::{Duration, Utc};
use gsw_storage::testing::TestDatabase;
use gsw_storage::{
    connect, Backend, DeliveryReport, DeploymentStatus, Enrollment, JobKind, JobRef, JobStatus,
    NewAgent, NewEnrollmentToken, NewJob, NewRefreshToken, NewRelease, NewSite, NewTokenUsage,
    NewUser, Page, Role, Rotation, SignFor, SignedForSite, SitePatch, SiteStatus, Store,
    StoreError, TokenCounts,
};
use serde_json::json;
use uuid::Uuid;

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::run(gsw_storage::Backend::Sqlite, super::$name).await
            }
            #[tokio::test]
            async fn postgres() {
                super::run(gsw_storage::Backend::Postgres, super::$name).await
            }
        }
    )+};
}

on_both_backends!(
    users_are_unique_by_email,
    roles_can_be_changed,
    refresh_tokens_rotate_within_a_family,
    a_reused_refresh_token_revokes_its_family,
    racing_rotations_of_one_token_have_one_winner,
    expired_and_unknown_refresh_tokens_are_refused,
    logout_revokes_the_family,
    sites_belong_to_their_owner,
    site_patch_sets_clears_and_keeps_fields,
    sites_page_in_creation_order,
    jobs_belong_to_the_owner_of_their_site,
    deleting_a_site_deletes_its_jobs,
    migrations_are_idempotent,
    enrollment_tokens_work_once_and_only_in_time,
    deployments_get_increasing_sequences_per_site,
    delivery_reports_move_deployments_forward_only,
    generation_jobs_are_claimed_once_under_a_lease,
    stage_outputs_and_drafts_belong_to_the_owner,
    dead_letters_and_stale_jobs,
    token_usage_adds_up_per_job_and_user,
    model_responses_are_cached,
    one_generation_at_a_time_per_site,
    sites_keep_their_policy_inventory_and_drift,
    a_generation_ending_on_a_deployed_site_leaves_it_active,
    queue_stats_and_deployment_counts_span_every_user,
);

async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Box<dyn Store>, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::create(backend).await;
    let store = connect(&db.url)
        .await
        .expect("connecting to the test database");
    assert_eq!(store.backend(), backend);
    store.ping().await.expect("ping");
    test(store, db.url.clone()).await;
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        id: Uuid::now_v7(),
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role: Role::User,
        created_at: Utc::now(),
    }
}

fn new_site(owner: Uuid, name: &str) -> NewSite {
    NewSite {
        id: Uuid::now_v7(),
        user_id: owner,
        name: name.to_owned(),
        domain: Some("bakery.example".to_owned()),
        wp_admin_url: None,
        status: SiteStatus::Draft,
        metadata: json!({"tags": ["shop"], "nested": {"n": 1}}),
        created_at: Utc::now(),
    }
}

fn token(hash: u8) -> NewRefreshToken {
    let now = Utc::now();
    NewRefreshToken {
        id: Uuid::now_v7(),
        token_hash: vec![hash; 32],
        created_at: now,
        expires_at: now + Duration::days(30),
    }
}

async fn users_are_unique_by_email(store: Box<dyn Store>, _: String) {
    let user = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    assert_eq!(user.role, Role::User);
    assert_eq!(user.subscription_tier, "free");
    let again = store.create_user(&new_user("ada@example.com")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let found = store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, user);
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user));
    assert!(store
        .user_by_email("nobody@example.com")
        .await
        .unwrap()
        .is_none());
}

async fn roles_can_be_changed(store: Box<dyn Store>, _: String) {
    let user = store
        .create_user(&new_user("root@example.com"))
        .await
        .unwrap();
    assert!(store
        .set_user_role("root@example.com", Role::Admin)
        .await
        .unwrap());
    assert!(!store
        .set_user_role("ghost@example.com", Role::Admin)
        .await
        .unwrap());
    let user = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(user.role, Role::Admin);
    let all = store
        .list_users(Page {
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

async fn refresh_tokens_rotate_within_a_family(store: Box<dyn Store>, _: String) {
    let user = store.create_user(&new_user("a@example.com")).await.unwrap();
    let first = token(1);
    let family = store.start_refresh_family(user.id, &first).await.unwrap();
    let second = token(2);
    let outcome = store
        .rotate_refresh_token(&first.token_hash, &second, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Rotation::Rotated {
            user_id: user.id,
            family_id: family
        }
    );
    let third = token(3);
    let outcome = store
        .rotate_refresh_token(&second.token_hash, &third, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Rotation::Rotated {
            user_id: user.id,
            family_id: family
        }
    );
}

async fn a_reused_refresh_token_revokes_its_family(store: Box<dyn Store>, _: String) {
    let user = store.create_user(&new_user("a@example.com")).await.unwrap();
    let first = token(1);
    let family = store.start_refresh_family(user.id, &first).await.unwrap();
    let second = token(2);
    store
        .rotate_refresh_token(&first.token_hash, &second, Utc::now())
        .await
        .unwrap();

    // The first token again: someone holds a copy. The whole family dies,
    // including the live second token, and nothing new is stored.
    let stolen = token(9);
    let outcome = store
        .rotate_refresh_token(&first.token_hash, &stolen, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Rotation::Reused {
            user_id: user.id,
            family_id: family
        }
    );
    let outcome = store
        .rotate_refresh_token(&second.token_hash, &token(4), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Revoked);
    let outcome = store
        .rotate_refresh_token(&stolen.token_hash, &token(5), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Unknown);

    // Other families of the same user are unaffected.
    let other = token(7);
    store.start_refresh_family(user.id, &other).await.unwrap();
    let outcome = store
        .rotate_refresh_token(&other.token_hash, &token(8), Utc::now())
        .await
        .unwrap();
    assert!(matches!(outcome, Rotation::Rotated { .. }));
}

async fn racing_rotations_of_one_token_have_one_winner(store: Box<dyn Store>, _: String) {
    let user = store.create_user(&new_user("a@example.com")).await.unwrap();
    let first = token(1);
    store.start_refresh_family(user.id, &first).await.unwrap();
    let (a, b) = (token(2), token(3));
    let (ra, rb) = tokio::join!(
        store.rotate_refresh_token(&first.token_hash, &a, Utc::now()),
        store.rotate_refresh_token(&first.token_hash, &b, Utc::now()),
    );
    let outcomes = [ra.unwrap(), rb.unwrap()];
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated { .. }))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Reused { .. }))
        .count();
    assert_eq!((rotated, reused), (1, 1), "{outcomes:?}");
}

async fn expired_and_unknown_refresh_tokens_are_refused(store: Box<dyn Store>, _: String) {
    let user = store.create_user(&new_user("a@example.com")).await.unwrap();
    let mut old = token(1);
    old.expires_at = Utc::now() - Duration::seconds(1);
    store.start_refresh_family(user.id, &old).await.unwrap();
    let outcome = store
        .rotate_refresh_token(&old.token_hash, &token(2), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Expired);
    let outcome = store
        .rotate_refresh_token(&[0xee; 32], &token(3), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Unknown);
}

async fn logout_revokes_the_family(store: Box<dyn Store>, _: String) {
    let user = store.create_user(&new_user("a@example.com")).await.unwrap();
    let first = token(1);
    store.start_refresh_family(user.id, &first).await.unwrap();
    assert!(store
        .revoke_refresh_family(&first.token_hash, Utc::now())
        .await
        .unwrap());
    assert!(!store
        .revoke_refresh_family(&first.token_hash, Utc::now())
        .await
        .unwrap());
    assert!(!store
        .revoke_refresh_family(&[0xaa; 32], Utc::now())
        .await
        .unwrap());
    let outcome = store
        .rotate_refresh_token(&first.token_hash, &token(2), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Revoked);
}

async fn sites_belong_to_their_owner(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(&new_user("bob@example.com"))
        .await
        .unwrap();
    let site = store
        .create_site(&new_site(ada.id, "Ada's Bakery"))
        .await
        .unwrap();
    assert_eq!(site.status, SiteStatus::Draft);
    assert_eq!(site.metadata, json!({"tags": ["shop"], "nested": {"n": 1}}));

    assert_eq!(
        store.site(ada.id, site.id).await.unwrap(),
        Some(site.clone())
    );
    assert_eq!(store.site(bob.id, site.id).await.unwrap(), None);
    let page = Page {
        after: None,
        limit: 50,
    };
    assert!(store.list_sites(bob.id, page).await.unwrap().is_empty());
    let patch = SitePatch {
        name: Some("Bob's now".into()),
        ..SitePatch::default()
    };
    assert_eq!(
        store
            .update_site(bob.id, site.id, &patch, Utc::now())
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_site(bob.id, site.id).await.unwrap());
    assert_eq!(
        store.site(ada.id, site.id).await.unwrap(),
        Some(site.clone())
    );

    assert!(store.delete_site(ada.id, site.id).await.unwrap());
    assert_eq!(store.site(ada.id, site.id).await.unwrap(), None);
}

async fn site_patch_sets_clears_and_keeps_fields(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let site = store
        .create_site(&new_site(ada.id, "Ada's Bakery"))
        .await
        .unwrap();
    let later = Utc::now() + Duration::seconds(5);
    let patch = SitePatch {
        name: None,
        domain: Some(None),
        wp_admin_url: Some(Some("https://bakery.example/wp-admin/".into())),
        metadata: Some(json!({"tags": []})),
        allow_unfiltered_html: Some(true),
    };
    let updated = store
        .update_site(ada.id, site.id, &patch, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "Ada's Bakery");
    assert_eq!(updated.domain, None);
    assert_eq!(
        updated.wp_admin_url.as_deref(),
        Some("https://bakery.example/wp-admin/")
    );
    assert_eq!(updated.metadata, json!({"tags": []}));
    assert!(updated.allow_unfiltered_html);
    assert_eq!(updated.created_at, site.created_at);
    assert!(updated.updated_at > site.updated_at);
    assert_eq!(store.site(ada.id, site.id).await.unwrap(), Some(updated));
}

async fn sites_page_in_creation_order(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .create_site(&new_site(ada.id, &format!("site {i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let first = store
        .list_sites(
            ada.id,
            Page {
                after: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.iter().map(|s| s.id).collect::<Vec<_>>(), ids[..2]);
    let rest = store
        .list_sites(
            ada.id,
            Page {
                after: Some(ids[1]),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|s| s.id).collect::<Vec<_>>(), ids[2..]);
}

async fn jobs_belong_to_the_owner_of_their_site(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(&new_user("bob@example.com"))
        .await
        .unwrap();
    let site = store
        .create_site(&new_site(ada.id, "Ada's Bakery"))
        .await
        .unwrap();

    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.id,
        user_id: ada.id,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let created = store.create_job(&job).await.unwrap().unwrap();
    assert_eq!(created.status, JobStatus::Queued);
    assert_eq!(created.progress, 0);
    assert_eq!(created.logs, "");
    assert_eq!(store.job(ada.id, job.id).await.unwrap(), Some(created));
    assert_eq!(store.job(bob.id, job.id).await.unwrap(), None);

    // Bob cannot hang a job on Ada's site.
    let sneaky = NewJob {
        id: Uuid::now_v7(),
        user_id: bob.id,
        ..job
    };
    assert_eq!(store.create_job(&sneaky).await.unwrap(), None);
    assert_eq!(store.job(bob.id, sneaky.id).await.unwrap(), None);
}

async fn deleting_a_site_deletes_its_jobs(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let site = store
        .create_site(&new_site(ada.id, "Ada's Bakery"))
        .await
        .unwrap();
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.id,
        user_id: ada.id,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    store.create_job(&job).await.unwrap().unwrap();
    assert!(store.delete_site(ada.id, site.id).await.unwrap());
    assert_eq!(store.job(ada.id, job.id).await.unwrap(), None);
}

async fn migrations_are_idempotent(store: Box<dyn Store>, url: String) {
    let user = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    store.close().await;
    // Opening the same database again re-runs the migrator: nothing changes.
    let again = connect(&url).await.unwrap();
    assert_eq!(again.user_by_id(user.id).await.unwrap(), Some(user));
    assert!(again.subscription(Uuid::now_v7()).await.unwrap().is_none());
}

fn enrollment_token(site_id: Uuid, hash: u8, ttl: Duration) -> NewEnrollmentToken {
    let now = Utc::now();
    NewEnrollmentToken {
        id: Uuid::now_v7(),
        site_id,
        token_hash: vec![hash; 32],
        created_at: now,
        expires_at: now + ttl,
    }
}

fn new_agent(key: u8) -> NewAgent {
    NewAgent {
        id: Uuid::now_v7(),
        connection: gsw_storage::Connection::Agent,
        public_key: vec![key; 32],
        agent_version: "0.1.0".into(),
        hostname: "wp1".into(),
    }
}

async fn enrollment_tokens_work_once_and_only_in_time(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(&new_user("bob@example.com"))
        .await
        .unwrap();
    let site = store
        .create_site(&new_site(ada.id, "Ada's Bakery"))
        .await
        .unwrap();
    assert!(!store
        .create_enrollment_token(bob.id, &enrollment_token(site.id, 9, Duration::hours(1)))
        .await
        .unwrap());

    let token = enrollment_token(site.id, 1, Duration::hours(1));
    assert!(store.create_enrollment_token(ada.id, &token).await.unwrap());
    let Enrollment::Enrolled(first) = store
        .enroll_agent(&token.token_hash, &new_agent(1), Utc::now())
        .await
        .unwrap()
    else {
        panic!("first use enrolls");
    };
    assert_eq!(first.site_id, site.id);
    assert_eq!(
        store
            .enroll_agent(&token.token_hash, &new_agent(2), Utc::now())
            .await
            .unwrap(),
        Enrollment::Used
    );
    assert_eq!(
        store
            .enroll_agent(&[9; 32], &new_agent(2), Utc::now())
            .await
            .unwrap(),
        Enrollment::Unknown
    );
    let old = enrollment_token(site.id, 3, Duration::seconds(-1));
    assert!(store.create_enrollment_token(ada.id, &old).await.unwrap());
    assert_eq!(
        store
            .enroll_agent(&old.token_hash, &new_agent(2), Utc::now())
            .await
            .unwrap(),
        Enrollment::Expired
    );
    assert_eq!(
        store.site_agent(ada.id, site.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.site_agent(bob.id, site.id).await.unwrap(), None);

    // Enrolling again replaces the site's agent.
    let again = enrollment_token(site.id, 4, Duration::hours(1));
    store.create_enrollment_token(ada.id, &again).await.unwrap();
    let Enrollment::Enrolled(second) = store
        .enroll_agent(&again.token_hash, &new_agent(5), Utc::now())
        .await
        .unwrap()
    else {
        panic!("second token enrolls");
    };
    assert!(store
        .agent(first.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    assert_eq!(
        store.site_agent(ada.id, site.id).await.unwrap().unwrap().id,
        second.id
    );

    store
        .record_agents_seen(&[(second.id, Utc::now())])
        .await
        .unwrap();
    assert!(store
        .agent(second.id)
        .await
        .unwrap()
        .unwrap()
        .last_seen
        .is_some());
    assert_eq!(
        store
            .revoke_site_agent(bob.id, site.id, Utc::now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .revoke_site_agent(ada.id, site.id, Utc::now())
            .await
            .unwrap(),
        Some(second.id)
    );
    assert_eq!(store.site_agent(ada.id, site.id).await.unwrap(), None);
    assert_eq!(
        store
            .revoke_site_agent(ada.id, site.id, Utc::now())
            .await
            .unwrap(),
        None
    );
}

fn release(owner: Uuid) -> NewRelease {
    NewRelease {
        id: Uuid::now_v7(),
        user_id: owner,
        items: json!([]),
        payload: vec![1, 2, 3],
        created_at: Utc::now(),
        rollback_of: None,
    }
}

fn sign(to: &SignFor) -> SignedForSite {
    let policy = if to.unfiltered_html {
        " unfiltered"
    } else {
        ""
    };
    SignedForSite {
        manifest: format!("{} {} {}{policy}", to.id, to.site_id, to.sequence).into_bytes(),
        signature: vec![0; 64],
    }
}

async fn deployments_get_increasing_sequences_per_site(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_user(&new_user("bob@example.com"))
        .await
        .unwrap();
    let a = store.create_site(&new_site(ada.id, "A")).await.unwrap();
    let b = store.create_site(&new_site(ada.id, "B")).await.unwrap();
    let bobs = store.create_site(&new_site(bob.id, "Bob's")).await.unwrap();

    let first = store
        .create_deployments(ada.id, &release(ada.id), &[a.id, b.id], &sign)
        .await
        .unwrap()
        .unwrap();
    let second = store
        .create_deployments(ada.id, &release(ada.id), &[a.id], &sign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.iter().map(|d| d.sequence).collect::<Vec<_>>(), [1, 1]);
    assert_eq!(second[0].sequence, 2);
    assert_eq!(
        second[0].manifest,
        format!("{} {} 2", second[0].id, a.id).into_bytes()
    );
    assert_eq!(second[0].status, DeploymentStatus::Queued);

    // One foreign site spoils the whole bulk deployment, and nothing is written.
    let mixed = store
        .create_deployments(ada.id, &release(ada.id), &[b.id, bobs.id], &sign)
        .await
        .unwrap();
    assert!(mixed.is_none());
    assert_eq!(store.outbox(b.id).await.unwrap().len(), 1);
    let next = store
        .create_deployments(ada.id, &release(ada.id), &[b.id], &sign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next[0].sequence, 2,
        "the refused bulk deployment used no sequence"
    );

    let outbox = store.outbox(a.id).await.unwrap();
    assert_eq!(
        outbox.iter().map(|d| d.sequence).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        store.release_payload(outbox[0].release_id).await.unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(
        store
            .deployment(ada.id, outbox[0].id)
            .await
            .unwrap()
            .unwrap()
            .id,
        outbox[0].id
    );
    assert_eq!(store.deployment(bob.id, outbox[0].id).await.unwrap(), None);
    let listed = store.site_deployments(ada.id, a.id, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.sequence).collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(store
        .site_deployments(bob.id, a.id, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn delivery_reports_move_deployments_forward_only(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let site = store.create_site(&new_site(ada.id, "A")).await.unwrap();
    let other = store.create_site(&new_site(ada.id, "B")).await.unwrap();
    let token = enrollment_token(site.id, 1, Duration::hours(1));
    store.create_enrollment_token(ada.id, &token).await.unwrap();
    let Enrollment::Enrolled(agent) = store
        .enroll_agent(&token.token_hash, &new_agent(1), Utc::now())
        .await
        .unwrap()
    else {
        panic!("enrolls");
    };
    let mut made = Vec::new();
    for _ in 0..2 {
        let mut one = store
            .create_deployments(ada.id, &release(ada.id), &[site.id], &sign)
            .await
            .unwrap()
            .unwrap();
        made.push(one.remove(0));
    }
    let (one, two) = (&made[0], &made[1]);
    // The same site twice in one bulk deployment is refused whole.
    let twice = store
        .create_deployments(ada.id, &release(ada.id), &[other.id, other.id], &sign)
        .await
        .unwrap();
    assert!(twice.is_none());
    let now = Utc::now();

    // Reports about another site's deployment change nothing.
    assert!(!store
        .report_delivery(other.id, one.id, &DeliveryReport::Acked, now)
        .await
        .unwrap());
    assert!(store
        .report_delivery(site.id, one.id, &DeliveryReport::Acked, now)
        .await
        .unwrap());
    assert!(!store
        .report_delivery(site.id, one.id, &DeliveryReport::Acked, now)
        .await
        .unwrap());
    assert_eq!(
        store.outbox(site.id).await.unwrap().len(),
        1,
        "acked deployments leave the outbox"
    );
    let results = json!([{"kind": "content", "path": "a", "status": "applied"}]);
    let applied = DeliveryReport::Applied {
        results: results.clone(),
        failed: false,
        sequence: one.sequence,
    };
    assert!(store
        .report_delivery(site.id, one.id, &applied, now)
        .await
        .unwrap());
    let stored = store.deployment(ada.id, one.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeploymentStatus::Applied);
    let live = store.site(ada.id, site.id).await.unwrap().unwrap();
    assert_eq!(
        live.status,
        SiteStatus::Active,
        "an applied deployment makes a site active"
    );
    assert_eq!(stored.results, Some(results));
    assert_eq!(
        store.agent(agent.id).await.unwrap().unwrap().last_applied,
        one.sequence
    );
    // A late refusal cannot undo an applied deployment.
    let refused = DeliveryReport::Refused {
        code: "replay".into(),
        reason: "late".into(),
    };
    assert!(!store
        .report_delivery(site.id, one.id, &refused, now)
        .await
        .unwrap());

    assert!(store
        .report_delivery(site.id, two.id, &refused, now)
        .await
        .unwrap());
    let stored = store.deployment(ada.id, two.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeploymentStatus::Refused);
    assert_eq!(stored.error_code.as_deref(), Some("replay"));
    assert!(store.outbox(site.id).await.unwrap().is_empty());
}

/// A user with a `generating` site and its queued generation job.
async fn generation(store: &dyn Store, email: &str) -> JobRef {
    let user = store.create_user(&new_user(email)).await.unwrap();
    let mut site = new_site(user.id, "Ada's Bakery");
    site.status = SiteStatus::Generating;
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id: site.id,
        user_id: user.id,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let created = store
        .create_site_with_job(&site, &job, &json!({"business_name": "Ada's Bakery"}))
        .await
        .unwrap();
    assert_eq!(created.status, JobStatus::Queued);
    assert_eq!(created.stage, None);
    JobRef {
        job_id: job.id,
        user_id: user.id,
    }
}

async fn generation_jobs_are_claimed_once_under_a_lease(store: Box<dyn Store>, _: String) {
    let job = generation(store.as_ref(), "ada@example.com").await;
    let now = Utc::now();
    let lease = now + Duration::seconds(30);
    let claimed = store
        .claim_job(job, "w1", now, lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.status, JobStatus::Running);
    assert_eq!(claimed.job.attempts, 1);
    assert_eq!(claimed.input["business_name"], "Ada's Bakery");
    assert!(store
        .claim_job(job, "w2", now, lease)
        .await
        .unwrap()
        .is_none());
    let stranger = JobRef {
        user_id: Uuid::now_v7(),
        ..job
    };
    assert!(store
        .claim_job(stranger, "w3", now + Duration::hours(1), lease)
        .await
        .unwrap()
        .is_none());

    assert!(store
        .record_job_progress(job, "w1", 40, "content", "planned 5 pages", now)
        .await
        .unwrap());
    assert!(!store
        .record_job_progress(job, "w2", 50, "content", "not mine", now)
        .await
        .unwrap());
    let seen = store.job(job.user_id, job.job_id).await.unwrap().unwrap();
    assert_eq!(
        (seen.progress, seen.stage.as_deref()),
        (40, Some("content"))
    );
    assert_eq!(seen.logs, "planned 5 pages\n");

    // w1's lease runs out: w2 may take the job over, and w1 can no longer touch it.
    let later = lease + Duration::seconds(1);
    let taken = store
        .claim_job(job, "w2", later, later + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.attempts, 2);
    assert!(!store
        .renew_job_lease(job, "w1", later + Duration::seconds(60))
        .await
        .unwrap());
    assert!(store
        .renew_job_lease(job, "w2", later + Duration::seconds(60))
        .await
        .unwrap());
    assert!(!store
        .complete_job(job, "w1", Some(&json!({"pages": []})), later)
        .await
        .unwrap());
    let draft = json!({"pages": [{"slug": "home"}]});
    assert!(store
        .complete_job(job, "w2", Some(&draft), later)
        .await
        .unwrap());
    assert!(!store
        .complete_job(job, "w2", Some(&draft), later)
        .await
        .unwrap());
    let done = store.job(job.user_id, job.job_id).await.unwrap().unwrap();
    assert_eq!((done.status, done.progress), (JobStatus::Completed, 100));
    let site = store
        .site(job.user_id, done.site_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(site.status, SiteStatus::Draft);
    let stored = store
        .site_draft(job.user_id, done.site_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.draft, draft);
    assert_eq!(stored.job_id, Some(job.job_id));
    assert!(store
        .claim_job(
            job,
            "w3",
            later + Duration::hours(1),
            later + Duration::hours(2)
        )
        .await
        .unwrap()
        .is_none());
}

async fn stage_outputs_and_drafts_belong_to_the_owner(store: Box<dyn Store>, _: String) {
    let job = generation(store.as_ref(), "ada@example.com").await;
    let other = generation(store.as_ref(), "bob@example.com").await;
    let now = Utc::now();
    assert!(store
        .save_stage_output(job, "plan", &json!({"pages": 5}), now)
        .await
        .unwrap());
    assert!(store
        .save_stage_output(job, "plan", &json!({"pages": 6}), now)
        .await
        .unwrap());
    assert!(store
        .save_stage_output(job, "page:home", &json!({"h1": "Hi"}), now)
        .await
        .unwrap());
    let intruder = JobRef {
        user_id: other.user_id,
        ..job
    };
    assert!(!store
        .save_stage_output(intruder, "plan", &json!({}), now)
        .await
        .unwrap());
    assert!(store.stage_outputs(intruder).await.unwrap().is_empty());
    let outputs = store.stage_outputs(job).await.unwrap();
    assert_eq!(outputs.len(), 2);
    assert_eq!(
        outputs.iter().find(|o| o.stage == "plan").unwrap().output,
        json!({"pages": 6})
    );

    let lease = now + Duration::seconds(30);
    store
        .claim_job(job, "w1", now, lease)
        .await
        .unwrap()
        .unwrap();
    store
        .complete_job(job, "w1", Some(&json!({"v": 1})), now)
        .await
        .unwrap();
    let site_id = store
        .job(job.user_id, job.job_id)
        .await
        .unwrap()
        .unwrap()
        .site_id;
    assert!(store
        .site_draft(other.user_id, site_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .site_draft(job.user_id, site_id)
        .await
        .unwrap()
        .is_some());
}

async fn dead_letters_and_stale_jobs(store: Box<dyn Store>, _: String) {
    let job = generation(store.as_ref(), "ada@example.com").await;
    let now = Utc::now();
    let lease = now + Duration::seconds(30);
    store
        .claim_job(job, "w1", now, lease)
        .await
        .unwrap()
        .unwrap();
    // Held by a live lease: neither the dead letter nor the reconciler may take it.
    assert!(!store
        .fail_job(job, None, "too many deliveries", now)
        .await
        .unwrap());
    assert!(store
        .requeue_stale_jobs(now, now, 100)
        .await
        .unwrap()
        .is_empty());
    // The lease ran out: the reconciler puts it back on the queue.
    let later = lease + Duration::seconds(1);
    assert_eq!(
        store.requeue_stale_jobs(now, later, 100).await.unwrap(),
        vec![job]
    );
    let seen = store.job(job.user_id, job.job_id).await.unwrap().unwrap();
    assert_eq!(seen.status, JobStatus::Queued);
    // Touched, so not returned again until it is stale once more.
    assert!(store
        .requeue_stale_jobs(later, later, 100)
        .await
        .unwrap()
        .is_empty());
    let much_later = later + Duration::seconds(60);
    assert_eq!(
        store
            .requeue_stale_jobs(much_later, much_later, 100)
            .await
            .unwrap(),
        vec![job]
    );

    // A stopping worker hands its job back: queued again at once, lease gone.
    let held = much_later + Duration::seconds(1);
    store
        .claim_job(job, "w9", held, held + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert!(!store.release_job(job, "someone-else", held).await.unwrap());
    assert!(store.release_job(job, "w9", held).await.unwrap());
    let released = store.job(job.user_id, job.job_id).await.unwrap().unwrap();
    assert_eq!(released.status, JobStatus::Queued);
    assert!(store
        .claim_job(job, "w10", held, held + Duration::seconds(30))
        .await
        .unwrap()
        .is_some());
    assert!(store.release_job(job, "w10", held).await.unwrap());

    assert!(store
        .fail_job(job, None, "delivered 5 times without finishing", much_later)
        .await
        .unwrap());
    let failed = store.job(job.user_id, job.job_id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("delivered 5 times without finishing")
    );
    assert!(failed.logs.contains("delivered 5 times"));
    let site = store
        .site(job.user_id, failed.site_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(site.status, SiteStatus::Draft);
    assert!(!store
        .fail_job(job, None, "again", much_later)
        .await
        .unwrap());
    assert!(store
        .claim_job(job, "w2", much_later, much_later)
        .await
        .unwrap()
        .is_none());
}

async fn token_usage_adds_up_per_job_and_user(store: Box<dyn Store>, _: String) {
    let job = generation(store.as_ref(), "ada@example.com").await;
    let tokens = TokenCounts {
        input_tokens: 100,
        output_tokens: 50,
        cache_read_tokens: 10,
        cache_creation_tokens: 5,
    };
    for job_id in [Some(job.job_id), Some(job.job_id), None] {
        store
            .record_token_usage(&NewTokenUsage {
                id: Uuid::now_v7(),
                user_id: job.user_id,
                job_id,
                stage: "content".into(),
                model: "claude-large".into(),
                tokens,
                created_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let per_job = store
        .job_token_usage(job.user_id, job.job_id)
        .await
        .unwrap();
    assert_eq!((per_job.input_tokens, per_job.output_tokens), (200, 100));
    let per_user = store.user_token_usage(job.user_id).await.unwrap();
    assert_eq!(per_user.input_tokens, 300);
    assert_eq!(per_user.cache_read_tokens, 30);
    assert_eq!(per_user.cache_creation_tokens, 15);
    assert!(store
        .user_token_usage(Uuid::now_v7())
        .await
        .unwrap()
        .is_zero());
    assert!(store
        .job_token_usage(Uuid::now_v7(), job.job_id)
        .await
        .unwrap()
        .is_zero());
}

async fn model_responses_are_cached(store: Box<dyn Store>, _: String) {
    assert!(store.cached_model_response("k1").await.unwrap().is_none());
    store
        .cache_model_response("k1", &json!({"a": 1}), Utc::now())
        .await
        .unwrap();
    store
        .cache_model_response("k1", &json!({"a": 2}), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store.cached_model_response("k1").await.unwrap(),
        Some(json!({"a": 2}))
    );
}

async fn one_generation_at_a_time_per_site(store: Box<dyn Store>, _: String) {
    let job = generation(store.as_ref(), "ada@example.com").await;
    let site_id = store
        .job(job.user_id, job.job_id)
        .await
        .unwrap()
        .unwrap()
        .site_id;
    let again = |id| NewJob {
        id,
        site_id,
        user_id: job.user_id,
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    let busy = store
        .create_job_with_input(&again(Uuid::now_v7()), &json!({}))
        .await;
    assert!(matches!(busy, Err(StoreError::Conflict(_))), "{busy:?}");
    let now = Utc::now();
    store
        .claim_job(job, "w1", now, now + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    store
        .complete_job(job, "w1", Some(&json!({})), now)
        .await
        .unwrap();
    let next = store
        .create_job_with_input(&again(Uuid::now_v7()), &json!({"kind": "regenerate"}))
        .await
        .unwrap()
        .expect("the site is free again");
    assert_eq!(next.status, JobStatus::Queued);
    let stranger = NewJob {
        user_id: Uuid::now_v7(),
        ..again(Uuid::now_v7())
    };
    assert!(matches!(
        store.create_job_with_input(&stranger, &json!({})).await,
        Ok(None)
    ));
}

async fn sites_keep_their_policy_inventory_and_drift(store: Box<dyn Store>, _: String) {
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap();
    let strict = store
        .create_site(&new_site(ada.id, "Strict"))
        .await
        .unwrap();
    let open = store.create_site(&new_site(ada.id, "Open")).await.unwrap();
    assert!(!strict.allow_unfiltered_html);
    let patch = SitePatch {
        allow_unfiltered_html: Some(true),
        ..SitePatch::default()
    };
    store
        .update_site(ada.id, open.id, &patch, Utc::now())
        .await
        .unwrap()
        .unwrap();

    // The policy reaches the signer with each site's sequence.
    let made = store
        .create_deployments(ada.id, &release(ada.id), &[strict.id, open.id], &sign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        made[0].manifest,
        format!("{} {} 1", made[0].id, strict.id).into_bytes()
    );
    assert_eq!(
        made[1].manifest,
        format!("{} {} 1 unfiltered", made[1].id, open.id).into_bytes()
    );
    assert_eq!(made[0].rollback_of, None);

    // A rollback names the deployment it undoes.
    let undo = NewRelease {
        rollback_of: Some(made[0].id),
        ..release(ada.id)
    };
    let rollback = store
        .create_deployments(ada.id, &undo, &[strict.id], &sign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rollback[0].rollback_of, Some(made[0].id));
    assert_eq!(rollback[0].sequence, 2);

    // The latest inventory and drift report replace the earlier ones.
    let at = Utc::now();
    store
        .record_site_inventory(strict.id, &json!({"wordpress_version": "6.0"}), at)
        .await
        .unwrap();
    store
        .record_site_inventory(strict.id, &json!({"wordpress_version": "6.1.1"}), at)
        .await
        .unwrap();
    store
        .record_site_drift(strict.id, &json!({"checked": 3, "drifted": []}), at)
        .await
        .unwrap();
    let site = store.site(ada.id, strict.id).await.unwrap().unwrap();
    assert_eq!(site.inventory, Some(json!({"wordpress_version": "6.1.1"})));
    assert_eq!(site.drift, Some(json!({"checked": 3, "drifted": []})));
    assert!(site.inventory_at.is_some() && site.drift_at.is_some());
    let other = store.site(ada.id, open.id).await.unwrap().unwrap();
    assert_eq!(other.inventory, None);
}

async fn a_generation_ending_on_a_deployed_site_leaves_it_active(store: Box<dyn Store>, _: String) {
    let job = generation(store.as_ref(), "ada@example.com").await;
    let site_id = store
        .job(job.user_id, job.job_id)
        .await
        .unwrap()
        .unwrap()
        .site_id;
    let deployed = store
        .create_deployments(job.user_id, &release(job.user_id), &[site_id], &sign)
        .await
        .unwrap()
        .unwrap()
        .remove(0);
    let applied = DeliveryReport::Applied {
        results: json!([]),
        failed: false,
        sequence: deployed.sequence,
    };
    assert!(store
        .report_delivery(site_id, deployed.id, &applied, Utc::now())
        .await
        .unwrap());
    let site = store.site(job.user_id, site_id).await.unwrap().unwrap();
    assert_eq!(site.status, SiteStatus::Generating, "still being generated");
    let now = Utc::now();
    store
        .claim_job(job, "w1", now, now + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .complete_job(job, "w1", Some(&json!({"pages": []})), now)
        .await
        .unwrap());
    let site = store.site(job.user_id, site_id).await.unwrap().unwrap();
    assert_eq!(site.status, SiteStatus::Active, "live before, live after");
}

async fn queue_stats_and_deployment_counts_span_every_user(store: Box<dyn Store>, _: String) {
    assert_eq!(
        store.job_queue_stats().await.unwrap(),
        gsw_storage::JobQueueStats::default()
    );
    assert_eq!(store.deployment_counts().await.unwrap(), []);

    let first = generation(store.as_ref(), "ada@example.com").await;
    let first_job = store
        .job(first.user_id, first.job_id)
        .await
        .unwrap()
        .unwrap();
    let second = generation(store.as_ref(), "bob@example.com").await;
    let third = generation(store.as_ref(), "cy@example.com").await;
    let now = Utc::now();
    let lease = now + Duration::seconds(30);
    // The oldest queued job is claimed: the next oldest is now the oldest waiting.
    store
        .claim_job(first, "w1", now, lease)
        .await
        .unwrap()
        .unwrap();
    let second_job = store
        .job(second.user_id, second.job_id)
        .await
        .unwrap()
        .unwrap();
    let stats = store.job_queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.running), (2, 1));
    assert_eq!(stats.oldest_queued_at, Some(second_job.created_at));
    assert!(first_job.created_at <= second_job.created_at);
    // Finished jobs are neither waiting nor running.
    store
        .complete_job(first, "w1", None, Utc::now())
        .await
        .unwrap();
    store
        .fail_job(third, None, "gave up", Utc::now())
        .await
        .unwrap();
    let stats = store.job_queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.running), (1, 0));
    assert_eq!(stats.oldest_queued_at, Some(second_job.created_at));

    let ada = store.user_by_id(first.user_id).await.unwrap().unwrap();
    let bob = store.user_by_id(second.user_id).await.unwrap().unwrap();
    let a = store.create_site(&new_site(ada.id, "A")).await.unwrap();
    let b = store.create_site(&new_site(bob.id, "B")).await.unwrap();
    let mut deployed = Vec::new();
    for (owner, site) in [
        (ada.id, a.id),
        (ada.id, a.id),
        (ada.id, a.id),
        (bob.id, b.id),
    ] {
        let made = store
            .create_deployments(owner, &release(owner), &[site], &sign)
            .await
            .unwrap()
            .unwrap();
        deployed.push((site, made[0].id));
    }
    let now = Utc::now();
    let refused = DeliveryReport::Refused {
        code: "bad_signature".into(),
        reason: "no".into(),
    };
    assert!(store
        .report_delivery(deployed[0].0, deployed[0].1, &DeliveryReport::Acked, now)
        .await
        .unwrap());
    assert!(store
        .report_delivery(deployed[3].0, deployed[3].1, &refused, now)
        .await
        .unwrap());
    assert_eq!(
        store.deployment_counts().await.unwrap(),
        [
            (DeploymentStatus::Delivered, 1),
            (DeploymentStatus::Queued, 2),
            (DeploymentStatus::Refused, 1),
        ]
    );
}
