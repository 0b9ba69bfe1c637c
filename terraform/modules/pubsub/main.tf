# Topics, their dead-letter topics, and push subscriptions with OIDC tokens, retry policies and
# dead-lettering. Pub/Sub's own service agent forwards poison messages, so it needs to publish on
# each dead-letter topic and to subscribe (acknowledge) on each subscription.

# Pub/Sub's service agent is created lazily on a fresh project; creating it here makes the grants
# below wait for it instead of failing the first apply.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta
  project  = var.project_id
  service  = "pubsub.googleapis.com"
}

locals {
  pubsub_agent    = "serviceAccount:${google_project_service_identity.pubsub.email}"
  dead_letter_for = toset([for s in var.subscriptions : s.topic])
}

resource "google_pubsub_topic" "topic" {
  for_each = toset(var.topics)
  project  = var.project_id
  name     = each.key
  labels   = { platform = "experiments-platform" }
  # checkov:skip=CKV_GCP_83:Messages carry ids and states only (no user data); Google-managed encryption suffices and a CMEK would need its own key ring per environment.
}

resource "google_pubsub_topic" "dead_letter" {
  for_each = local.dead_letter_for
  project  = var.project_id
  name     = "${each.key}-dead-letter"
  labels   = { platform = "experiments-platform", purpose = "dead-letter" }
  # checkov:skip=CKV_GCP_83:Same content as the source topic; Google-managed encryption suffices.
}

resource "google_pubsub_subscription" "dead_letter_store" {
  for_each                   = local.dead_letter_for
  project                    = var.project_id
  name                       = "${each.key}-dead-letter-store"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  message_retention_duration = var.message_retention
  ack_deadline_seconds       = 60
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "push" {
  for_each             = var.subscriptions
  project              = var.project_id
  name                 = each.key
  topic                = google_pubsub_topic.topic[each.value.topic].id
  ack_deadline_seconds = each.value.ack_deadline_s

  message_retention_duration = var.message_retention

  push_config {
    push_endpoint = each.value.push_endpoint
    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = each.value.audience # the service's base URL
    }
  }

  retry_policy {
    minimum_backoff = "${each.value.min_backoff_s}s"
    maximum_backoff = "${each.value.max_backoff_s}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.value.topic].id
    max_delivery_attempts = each.value.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  for_each = local.dead_letter_for
  project  = var.project_id
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "agent_acks_forwarded" {
  for_each     = var.subscriptions
  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_service_account_iam_member" "agent_mints_push_tokens" {
  service_account_id = "projects/${var.project_id}/serviceAccounts/${var.push_service_account_email}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = { for pair in flatten([for topic, members in var.publishers : [for m in members : { topic = topic, member = m }]]) : "${pair.topic} ${pair.member}" => pair }
  project  = var.project_id
  topic    = google_pubsub_topic.topic[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = each.value.member
}
