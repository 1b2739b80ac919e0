"""Training on Ray: rollout actors, a parameter server, the learner loop, tracking and tuning."""
