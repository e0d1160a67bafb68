import { DynamoGoodPracticeStore } from "../../store/good-practice-store.js";
import { documentClient } from "../../shared/clients.js";
import { productionDependenciesWith } from "./dependencies.js";

/** The production wiring of the routes that record or count good practice notifications. */
export const goodPracticeDependencies = productionDependenciesWith((tableName) => ({
  goodPractice: new DynamoGoodPracticeStore(documentClient, tableName),
}));
