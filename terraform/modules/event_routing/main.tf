# Vertex AI pipeline job and task state changes → the pipeline-state topic, through a Cloud
# Logging sink. Vertex AI writes one entry to the pipeline_job_events log each time a job or one
# of its tasks changes state (resource type aiplatform.googleapis.com/PipelineJob); the sink
# publishes each matching LogEntry as the JSON body of a Pub/Sub message, which is the shape
# experiments_platform.events.google_events.parse_log_entry reads.

locals {
  # Written out in full: only state-change entries of pipeline jobs, nothing else from the project.
  pipeline_state_filter = join(" AND ", [
    "resource.type=\"aiplatform.googleapis.com/PipelineJob\"",
    "logName=\"projects/${var.project_id}/logs/aiplatform.googleapis.com%2Fpipeline_job_events\"",
    "jsonPayload.state:*",
  ])
}

resource "google_logging_project_sink" "pipeline_state" {
  project                = var.project_id
  name                   = var.sink_name
  description            = "Vertex AI pipeline job and task state changes for the experiments platform status watcher."
  destination            = "pubsub.googleapis.com/${var.state_topic_id}"
  filter                 = local.pipeline_state_filter
  unique_writer_identity = true
}

resource "google_pubsub_topic_iam_member" "sink_publishes" {
  project = var.project_id
  topic   = var.state_topic_id
  role    = "roles/pubsub.publisher"
  member  = google_logging_project_sink.pipeline_state.writer_identity
}
