"""The media archiver's adapters: MongoDB (records and GridFS). The Cloud API download is
shared/cloud_media.py's, used as is."""
