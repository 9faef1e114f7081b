{
  "targets": [
    {
      "target_name": "peer_credentials",
      "sources": ["src/peer_credentials.c"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
