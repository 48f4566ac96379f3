"""healthmart: a warehouse-native customer health score pipeline."""
