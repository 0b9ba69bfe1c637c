# Data-source events (issue 13, Eventarc): a dataset's source changed → the submitter's
# /eventarc/data-source-changed (experiments_platform.events.data_events.DATA_EVENTS_PATH), as CloudEvents:
#   google.cloud.storage.object.v1.finalized  an object written in the data bucket (a direct Cloud
#                                             Storage event; data: StorageObjectData)
#   google.cloud.audit.log.v1.written          BigQuery's audit log (serviceName bigquery.googleapis.com,
#                                             methodName InsertJob: load and query jobs); the handler keeps
#                                             entries whose BigQueryAuditMetadata has a tableDataChange
# Eventarc creates and owns the Pub/Sub transport of each trigger; the trigger's service account
# mints the OIDC token that invokes the (internal-ingress) submitter.

data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

# Direct Cloud Storage events are published by the project's Cloud Storage service agent.
resource "google_project_iam_member" "gcs_publishes" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_project_iam_member" "trigger_receives" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${var.trigger_service_account_email}"
}

resource "google_eventarc_trigger" "object_finalized" {
  project         = var.project_id
  name            = "data-object-finalized"
  location        = var.bucket_location # a Cloud Storage trigger lives in its bucket's location
  service_account = var.trigger_service_account_email

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.storage.object.v1.finalized"
  }
  matching_criteria {
    attribute = "bucket"
    value     = var.data_bucket
  }

  destination {
    cloud_run_service {
      service = var.service_name
      region  = var.region
      path    = var.path
    }
  }

  depends_on = [google_project_iam_member.gcs_publishes, google_project_iam_member.trigger_receives]
}

resource "google_eventarc_trigger" "bigquery_table_changed" {
  count           = var.bigquery_events ? 1 : 0
  project         = var.project_id
  name            = "data-bigquery-table-changed"
  location        = var.bigquery_trigger_location
  service_account = var.trigger_service_account_email

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.audit.log.v1.written"
  }
  matching_criteria {
    attribute = "serviceName"
    value     = "bigquery.googleapis.com"
  }
  matching_criteria {
    attribute = "methodName"
    value     = "google.cloud.bigquery.v2.JobService.InsertJob"
  }

  destination {
    cloud_run_service {
      service = var.service_name
      region  = var.region
      path    = var.path
    }
  }

  depends_on = [google_project_iam_member.trigger_receives]
}
