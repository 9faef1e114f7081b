// Counters the daemon keeps for export (the gateway's /metrics comes later).

export class StoreMetrics {
  photosStored = 0;
  bytesStored = 0;
  storeFailures = 0;
  photosDeleted = 0;
  /** Sum and count of store durations in ms, for a mean until histograms are exported. */
  storeMsTotal = 0;

  snapshot() {
    return {
      photos_stored_total: this.photosStored,
      photo_bytes_stored_total: this.bytesStored,
      photo_store_failures_total: this.storeFailures,
      photos_deleted_total: this.photosDeleted,
      store_duration_ms_sum: this.storeMsTotal,
    };
  }
}
