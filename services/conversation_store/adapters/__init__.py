"""The store's adapters: MongoDB (load and save threads) and Kafka (intake, notices)."""
