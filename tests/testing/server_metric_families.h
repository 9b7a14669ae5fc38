// The server's metric families with their Prometheus types: the contract
// the dashboard and the alert rules (deploy/monitoring) code against, which
// the unit and integration tests of server_metrics check.
#ifndef CALLPUSH_TESTS_TESTING_SERVER_METRIC_FAMILIES_H_
#define CALLPUSH_TESTS_TESTING_SERVER_METRIC_FAMILIES_H_

namespace callpush::testing {

inline constexpr const char* kServerMetricFamilies[][2] = {
    {"callpush_grpc_requests_total", "counter"},
    {"callpush_grpc_request_duration_seconds", "histogram"},
    {"callpush_push_attempts_total", "counter"},
    {"callpush_push_provider_duration_seconds", "histogram"},
    {"callpush_pushes_in_flight", "gauge"},
    {"callpush_provider_connections", "gauge"},
    {"callpush_provider_connects_total", "counter"},
    {"callpush_provider_connect_failures_total", "counter"},
    {"callpush_provider_goaways_total", "counter"},
    {"callpush_provider_stream_resets_total", "counter"},
    {"callpush_provider_resent_total", "counter"},
    {"callpush_token_invalidations_total", "counter"},
    {"callpush_token_refreshes_total", "counter"},
    {"callpush_token_last_refresh_success_timestamp_seconds", "gauge"},
    {"callpush_certificate_expiry_timestamp_seconds", "gauge"},
    {"callpush_db_pool_connections", "gauge"},
    {"callpush_db_pool_workers", "gauge"},
    {"callpush_db_pool_queue_length", "gauge"},
    {"callpush_db_errors_total", "counter"},
    {"callpush_ready", "gauge"},
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_SERVER_METRIC_FAMILIES_H_
