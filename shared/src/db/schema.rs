// Mirrors the SQL in `migrations/`; keep both in step.

diesel::table! {
    users (id) {
        id -> Char,
        username -> Varchar,
        email -> Varchar,
        first_name -> Varchar,
        last_name -> Varchar,
        password_hash -> Varchar,
        is_active -> Bool,
        is_superuser -> Bool,
        daily_task_limit -> Nullable<Unsigned<Integer>>,
        token_version -> Unsigned<Integer>,
        date_joined -> Datetime,
        last_updated -> Datetime,
        last_login -> Nullable<Datetime>,
        welcome_mail_sent_at -> Nullable<Datetime>,
        welcome_mail_job_id -> Nullable<Char>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Char,
        family_id -> Char,
        user_id -> Char,
        created_at -> Datetime,
        expires_at -> Datetime,
        rotated_at -> Nullable<Datetime>,
        revoked_at -> Nullable<Datetime>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Char,
        kind -> Varchar,
        status -> Varchar,
        attempts -> Unsigned<Integer>,
        owner_id -> Nullable<Char>,
        payload -> Nullable<Longtext>,
        result -> Nullable<Longtext>,
        error -> Nullable<Text>,
        error_code -> Nullable<Varchar>,
        created_at -> Datetime,
        updated_at -> Datetime,
        finished_at -> Nullable<Datetime>,
        enqueued_at -> Datetime,
        lease_until -> Nullable<Datetime>,
        request_id -> Nullable<Varchar>,
    }
}

diesel::table! {
    tasks (id) {
        id -> Char,
        owner_id -> Char,
        title -> Varchar,
        description -> Text,
        status_task -> Varchar,
        date_created -> Datetime,
        last_updated -> Datetime,
    }
}

diesel::table! {
    task_list_versions (owner_id) {
        owner_id -> Char,
        version -> BigInt,
    }
}

diesel::table! {
    assignments (id) {
        id -> Char,
        task_id -> Char,
        user_id -> Char,
        date -> Date,
        created_at -> Datetime,
    }
}

diesel::table! {
    assignment_days (user_id, date) {
        user_id -> Char,
        date -> Date,
    }
}

diesel::table! {
    schedule_runs (schedule, fire_at) {
        schedule -> Varchar,
        fire_at -> Datetime,
        job_id -> Char,
        created_at -> Datetime,
    }
}

diesel::table! {
    categories (id) {
        id -> Char,
        name -> Varchar,
        created_at -> Datetime,
    }
}

diesel::table! {
    products (id) {
        id -> Char,
        name -> Varchar,
        brand -> Varchar,
        description -> Varchar,
        category_id -> Char,
        price -> Numeric,
        quantity -> Unsigned<Integer>,
        rating -> Numeric,
        created_at -> Datetime,
        image_key -> Nullable<Varchar>,
        image_ext -> Nullable<Varchar>,
        image_pending -> Nullable<Varchar>,
        image_pending_ext -> Nullable<Varchar>,
        image_status -> Nullable<Varchar>,
    }
}

diesel::table! {
    carts (id) {
        id -> Char,
        user_id -> Char,
        created -> Datetime,
        updated -> Datetime,
    }
}

diesel::table! {
    cart_items (id) {
        id -> Char,
        cart_id -> Char,
        product_id -> Char,
        quantity -> Unsigned<Integer>,
        created -> Datetime,
    }
}

diesel::table! {
    orders (id) {
        id -> Char,
        user_id -> Char,
        total -> Numeric,
        created_at -> Datetime,
    }
}

diesel::table! {
    order_items (id) {
        id -> Char,
        order_id -> Char,
        product_id -> Char,
        name -> Varchar,
        unit_price -> Numeric,
        quantity -> Unsigned<Integer>,
        line_total -> Numeric,
        position -> Unsigned<Integer>,
    }
}

diesel::table! {
    idempotency_keys (scope) {
        scope -> Binary,
        request_hash -> Binary,
        status -> Nullable<Unsigned<SmallInt>>,
        content_type -> Nullable<Varchar>,
        location -> Nullable<Varchar>,
        body -> Nullable<Mediumblob>,
        locked_until -> Datetime,
        expires_at -> Datetime,
    }
}

diesel::table! {
    job_finish_minutes (minute, kind, status, shard) {
        kind -> Varchar,
        minute -> Datetime,
        status -> Varchar,
        shard -> Unsigned<TinyInt>,
        jobs -> BigInt,
    }
}

diesel::joinable!(assignments -> tasks (task_id));
diesel::joinable!(products -> categories (category_id));
diesel::joinable!(cart_items -> products (product_id));
diesel::joinable!(cart_items -> carts (cart_id));
diesel::joinable!(order_items -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    jobs,
    tasks,
    task_list_versions,
    assignments,
    assignment_days,
    schedule_runs,
    categories,
    products,
    carts,
    cart_items,
    orders,
    order_items,
    idempotency_keys
);
